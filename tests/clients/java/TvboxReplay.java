import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.annotations.SerializedName;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Walks a MoonTV TVBox subscription the way the original TVBox app does, with real Gson.
 *
 * Usage: java TvboxReplay <config url> <search keyword>
 *
 * 1. The config is read with the same unguarded calls TVBox's config loader makes (sites, parses,
 *    ads and ijk must be present and well typed; flags and lives are optional). Any exception there
 *    is the app's "解析配置失败": exit status 2.
 * 2. The first site is the home site: its class list (GET api), a page of each of its first three
 *    categories (ac=detail&t=&pg=) and the detail of the first card (ac=detail&ids=).
 * 3. Every searchable type-1 site: class list, search (wd=&ac=detail) and the detail of the first hit.
 *
 * Category and list answers are bound to beans with the field types TVBox's Apple CMS JSON beans
 * declare (ints stay ints, everything else is a String). Play strings are split the way TVBox splits
 * them (flags by "$$$", episodes by "#", name and URL by "$").
 *
 * Prints one JSON summary on stdout; problems in step 2 and 3 (which the app shows as empty pages)
 * are listed under "errors".
 */
public final class TvboxReplay {

    /** One Apple CMS list item, with the field names and Java types TVBox binds. */
    static final class CmsVod {
        int group_id;
        int type_id;
        int type_id_1;
        String type_name, vod_actor, vod_area, vod_author, vod_behind, vod_blurb, vod_class, vod_color;
        String vod_content, vod_copyright, vod_director, vod_douban_id, vod_douban_score, vod_down;
        String vod_down_from, vod_down_note, vod_down_server, vod_down_url, vod_duration, vod_en, vod_hits;
        String vod_hits_day, vod_hits_month, vod_hits_week, vod_id, vod_isend, vod_jumpurl, vod_lang;
        String vod_letter, vod_level, vod_lock, vod_name, vod_pic, vod_pic_screenshot, vod_pic_slide;
        String vod_pic_thumb, vod_play_from, vod_play_note, vod_play_server, vod_play_url, vod_plot;
        String vod_plot_detail, vod_plot_name, vod_points, vod_points_down, vod_points_play, vod_pubdate;
        String vod_pwd, vod_pwd_down, vod_pwd_down_url, vod_pwd_play, vod_pwd_play_url, vod_pwd_url;
        String vod_rel_art, vod_rel_vod, vod_remarks, vod_reurl, vod_score, vod_score_all, vod_score_num;
        String vod_serial, vod_state, vod_status, vod_sub, vod_tag, vod_time, vod_time_add, vod_time_hits;
        String vod_time_make, vod_total, vod_tpl, vod_tpl_down, vod_tpl_play, vod_trysee, vod_tv, vod_up;
        String vod_version, vod_weekday, vod_writer, vod_year;
    }

    /** A list/search/detail page. */
    static final class CmsPage {
        int code;
        String limit;
        ArrayList<CmsVod> list;
        String msg;
        int page;
        int pagecount;
        int total;
    }

    /** The class list a site's home answer carries. */
    static final class CmsHome {
        @SerializedName("class")
        ArrayList<CmsClass> classes;

        @SerializedName("list")
        ArrayList<CmsVod> list;
    }

    static final class CmsClass {
        String type_id;
        String type_name;
    }

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(20))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    private static final Gson GSON = new Gson();
    private static final List<String> ERRORS = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        String configUrl = args[0];
        String keyword = args[1];
        JsonObject out = new JsonObject();
        JsonObject config;
        try {
            JsonObject seen = new JsonObject();
            config = readConfig(get(configUrl), seen);
            out.add("config", seen);
        } catch (Throwable th) {
            JsonObject failed = new JsonObject();
            failed.addProperty("error", "解析配置失败: " + th);
            System.out.println(failed);
            System.exit(2);
            return;
        }
        JsonArray sites = config.get("sites").getAsJsonArray();
        JsonObject home = sites.get(0).getAsJsonObject();
        out.add("home", walkHome(home));
        JsonObject searched = new JsonObject();
        for (JsonElement element : sites) {
            JsonObject site = element.getAsJsonObject();
            if (site.get("type").getAsInt() != 1 || intOr(site, "searchable", 1) == 0) {
                continue;
            }
            searched.add(site.get("key").getAsString(), walkSite(site, keyword));
        }
        out.add("sites", searched);
        JsonArray errors = new JsonArray();
        ERRORS.forEach(errors::add);
        out.add("errors", errors);
        System.out.println(new GsonBuilder().disableHtmlEscaping().create().toJson(out));
    }

    // -- step 1: the config, read like the app reads it --------------------------------------------

    static JsonObject readConfig(String body, JsonObject out) {
        JsonObject info = GSON.fromJson(body, JsonObject.class);
        JsonArray sites = new JsonArray();
        for (JsonElement element : info.get("sites").getAsJsonArray()) {
            JsonObject site = (JsonObject) element;
            JsonObject seen = new JsonObject();
            seen.addProperty("key", site.get("key").getAsString().trim());
            seen.addProperty("name", site.get("name").getAsString().trim());
            seen.addProperty("type", site.get("type").getAsInt());
            seen.addProperty("api", site.get("api").getAsString().trim());
            seen.addProperty("searchable", intOr(site, "searchable", 1));
            seen.addProperty("quickSearch", intOr(site, "quickSearch", 1));
            seen.addProperty("filterable", intOr(site, "filterable", 1));
            seen.addProperty("ext", stringOr(site, "ext", ""));
            sites.add(seen);
        }
        out.add("sites", sites);
        out.addProperty("flags", stringList(info, "flags").size());
        int parses = 0;
        for (JsonElement element : info.get("parses").getAsJsonArray()) {
            JsonObject parse = (JsonObject) element;
            parse.get("name").getAsString();
            parse.get("url").getAsString();
            if (parse.has("ext")) {
                parse.get("ext").getAsJsonObject();
            }
            parses++;
        }
        out.addProperty("parses", parses);
        try {
            out.addProperty("lives", info.get("lives").getAsJsonArray().size());
        } catch (Throwable ignored) {
            out.addProperty("lives", -1);  // the app tolerates a missing or odd "lives"
        }
        JsonArray ads = new JsonArray();
        for (JsonElement host : info.getAsJsonArray("ads")) {
            ads.add(host.getAsString());
        }
        out.add("ads", ads);
        JsonArray ijk = new JsonArray();
        for (JsonElement element : info.get("ijk").getAsJsonArray()) {
            JsonObject group = (JsonObject) element;
            String name = group.get("group").getAsString();
            for (JsonElement option : group.get("options").getAsJsonArray()) {
                JsonObject o = (JsonObject) option;
                String unused = o.get("category").getAsString() + "|" + o.get("name").getAsString() + "=" + o.get("value").getAsString();
            }
            ijk.add(name);
        }
        if (ijk.size() == 0) {
            throw new IllegalStateException("ijk is empty: the IJK player would pick ijk[0]");
        }
        out.add("ijk", ijk);
        return info;
    }

    static int intOr(JsonObject obj, String key, int fallback) {
        try {
            return obj.has(key) ? obj.getAsJsonPrimitive(key).getAsInt() : fallback;
        } catch (Throwable th) {
            return fallback;
        }
    }

    static String stringOr(JsonObject obj, String key, String fallback) {
        try {
            return obj.has(key) ? obj.getAsJsonPrimitive(key).getAsString().trim() : fallback;
        } catch (Throwable th) {
            return fallback;
        }
    }

    static List<String> stringList(JsonObject obj, String key) {
        List<String> values = new ArrayList<>();
        try {
            if (obj.has(key)) {
                for (JsonElement element : obj.getAsJsonArray(key)) {
                    values.add(element.getAsString());
                }
            }
        } catch (Throwable ignored) {
            // the app ignores a malformed list
        }
        return values;
    }

    // -- steps 2 and 3: category pages, search and detail ------------------------------------------

    static JsonObject walkHome(JsonObject site) {
        String api = site.get("api").getAsString().trim();
        JsonObject summary = new JsonObject();
        summary.addProperty("key", site.get("key").getAsString());
        List<CmsClass> classes = homeClasses(api, summary);
        JsonArray pages = new JsonArray();
        String firstId = null;
        for (CmsClass cls : classes.subList(0, Math.min(3, classes.size()))) {
            CmsPage page = page(url(api, "ac", "detail", "t", cls.type_id, "pg", "1"), "list " + cls.type_name);
            JsonObject seen = describe(page);
            seen.addProperty("class", cls.type_name);
            pages.add(seen);
            if (firstId == null && page != null && !page.list.isEmpty()) {
                firstId = page.list.get(0).vod_id;
            }
        }
        summary.add("pages", pages);
        if (firstId != null) {
            summary.add("detail", describe(page(url(api, "ac", "detail", "ids", firstId), "home detail")));
        }
        return summary;
    }

    static JsonObject walkSite(JsonObject site, String keyword) {
        String api = site.get("api").getAsString().trim();
        JsonObject summary = new JsonObject();
        homeClasses(api, summary);
        CmsPage found = page(url(api, "wd", keyword, "ac", "detail"), "search " + site.get("key").getAsString());
        summary.add("search", describe(found));
        if (found != null && !found.list.isEmpty()) {
            String id = found.list.get(0).vod_id;
            summary.add("detail", describe(page(url(api, "ac", "detail", "ids", id), "detail " + id)));
        }
        return summary;
    }

    static List<CmsClass> homeClasses(String api, JsonObject summary) {
        List<CmsClass> classes = new ArrayList<>();
        try {
            JsonObject raw = JsonParser.parseString(get(api)).getAsJsonObject();
            CmsHome home = GSON.fromJson(raw, CmsHome.class);
            for (CmsClass cls : home.classes) {  // no "class" array: the app shows no tabs
                classes.add(cls);
            }
        } catch (Throwable th) {
            ERRORS.add("home " + api + ": " + th);
        }
        JsonArray names = new JsonArray();
        for (CmsClass cls : classes) {
            JsonArray pair = new JsonArray();
            pair.add(cls.type_id);
            pair.add(cls.type_name);
            names.add(pair);
        }
        summary.add("classes", names);
        return classes;
    }

    static CmsPage page(String url, String what) {
        try {
            CmsPage page = GSON.fromJson(get(url), CmsPage.class);
            if (page.list == null) {
                throw new IllegalStateException("no list");
            }
            return page;
        } catch (Throwable th) {
            ERRORS.add(what + ": " + th);
            return null;
        }
    }

    static JsonObject describe(CmsPage page) {
        JsonObject seen = new JsonObject();
        if (page == null) {
            seen.addProperty("failed", true);
            return seen;
        }
        seen.addProperty("page", page.page);
        seen.addProperty("pagecount", page.pagecount);
        seen.addProperty("total", page.total);
        JsonArray videos = new JsonArray();
        for (CmsVod vod : page.list) {
            JsonObject v = new JsonObject();
            v.addProperty("id", vod.vod_id);
            v.addProperty("name", vod.vod_name);
            v.addProperty("pic", vod.vod_pic);
            int year;
            try {
                year = Integer.parseInt(vod.vod_year);
            } catch (Throwable th) {
                year = 0;
            }
            v.addProperty("year", year);
            v.addProperty("note", vod.vod_remarks);
            v.addProperty("type_id", vod.type_id);
            v.add("flags", playLines(vod));
            videos.add(v);
        }
        seen.add("videos", videos);
        return seen;
    }

    static JsonArray playLines(CmsVod vod) {
        JsonArray lines = new JsonArray();
        if (vod.vod_play_from == null || vod.vod_play_url == null) {
            return lines;
        }
        String[] flags = vod.vod_play_from.split("\\$\\$\\$");
        String[] groups = vod.vod_play_url.split("\\$\\$\\$");
        for (int i = 0; i < flags.length; i++) {
            String urls = i < groups.length ? groups[i] : "";
            JsonArray episodes = new JsonArray();
            for (String part : urls.contains("#") ? urls.split("#") : new String[] {urls}) {
                if (part.contains("$")) {
                    String[] pieces = part.split("\\$");
                    if (pieces.length >= 2) {
                        JsonArray episode = new JsonArray();
                        episode.add(pieces[0]);
                        episode.add(pieces[1]);
                        episodes.add(episode);
                    }
                }
            }
            JsonObject line = new JsonObject();
            line.addProperty("flag", flags[i]);
            line.add("episodes", episodes);
            lines.add(line);
        }
        return lines;
    }

    // -- HTTP as the app's client builds it: parameters appended to the site's api URL -------------

    static String url(String api, String... pairs) {
        StringBuilder sb = new StringBuilder(api);
        sb.append(api.indexOf('?') > 0 || api.indexOf('&') > 0 ? '&' : '?');
        for (int i = 0; i < pairs.length; i += 2) {
            if (i > 0) {
                sb.append('&');
            }
            sb.append(pairs[i]).append('=').append(URLEncoder.encode(pairs[i + 1], StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    static String get(String url) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(30))
                .header("User-Agent", "okhttp/3.12.0")
                .GET()
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (response.statusCode() >= 400) {
            throw new IllegalStateException("HTTP " + response.statusCode() + " for " + url);
        }
        return response.body();
    }

    private TvboxReplay() {
    }
}
