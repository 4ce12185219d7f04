{{- define "moontv.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "moontv.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "moontv.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "moontv.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "moontv.selectorLabels" -}}
app.kubernetes.io/name: {{ include "moontv.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "moontv.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "moontv.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "moontv.secretName" -}}
{{- default (include "moontv.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "moontv.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Fail early on settings that cannot work. */}}
{{- define "moontv.validate" -}}
{{- $type := .Values.storage.type -}}
{{- if not (has $type (list "sqlite" "redis" "kvrocks")) -}}
{{- fail "storage.type must be sqlite, redis or kvrocks" -}}
{{- end -}}
{{- if and (eq $type "sqlite") (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) -}}
{{- fail "storage.type=sqlite runs one replica only: set replicaCount=1 and autoscaling.enabled=false, or use redis/kvrocks" -}}
{{- end -}}
{{- if and (ne $type "sqlite") (not .Values.storage.url) (not .Values.existingSecret) -}}
{{- fail "storage.url is required for redis/kvrocks (or existingSecret with STORAGE_URL)" -}}
{{- end -}}
{{- if and (not .Values.auth.password) (not .Values.existingSecret) -}}
{{- fail "auth.password (or existingSecret with PASSWORD) is required" -}}
{{- end -}}
{{- $stop := add (int .Values.shutdown.preStopSleepSeconds) (int .Values.shutdown.drainSeconds) (int .Values.shutdown.graceSeconds) -}}
{{- if le (int .Values.terminationGracePeriodSeconds) $stop -}}
{{- fail "terminationGracePeriodSeconds must exceed shutdown.preStopSleepSeconds + drainSeconds + graceSeconds" -}}
{{- end -}}
{{- if not (has .Values.podAntiAffinity (list "soft" "hard" "none")) -}}
{{- fail "podAntiAffinity must be soft, hard or none" -}}
{{- end -}}
{{- end -}}
