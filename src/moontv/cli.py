"""Command line: ``moontv serve | user | sources add|check | config validate | healthcheck``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from moontv import __version__

if TYPE_CHECKING:
    from moontv.auth.service import AuthService
    from moontv.config.service import ConfigService
    from moontv.settings import Settings
    from moontv.storage.protocol import Storage


def _settings(args: argparse.Namespace) -> Settings:
    from moontv.settings import load_settings

    overrides: dict[str, object] = {}
    for name in ("host", "port", "config_file", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return load_settings(**overrides)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", dest="config_file", type=Path, help="config.json path (MOONTV_CONFIG)")
    parser.add_argument("--data-dir", dest="data_dir", type=Path, help="data directory (MOONTV_DATA_DIR)")


# -- serve ------------------------------------------------------------------------------------


def _graceful_server_class() -> type:
    import signal
    import socket
    from types import FrameType

    import uvicorn

    from moontv.memory import settle_after_start

    class GracefulServer(uvicorn.Server):
        """SIGTERM: first ``drain`` seconds of readiness 503 while requests are still served, then
        uvicorn's graceful shutdown; exit status 0 (uvicorn would re-raise the signal). A second
        signal during the drain stops at once."""

        drain: float = 0.0
        on_drain: Callable[[], None] | None = None
        _drain_until: float | None = None

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if (
                sig == signal.SIGTERM
                and self.drain > 0
                and self._drain_until is None
                and not self.should_exit
            ):
                self._drain_until = time.monotonic() + self.drain
                if self.on_drain is not None:
                    self.on_drain()
                return
            super().handle_exit(sig, frame)
            captured = getattr(self, "_captured_signals", None)
            if sig == signal.SIGTERM and isinstance(captured, list) and sig in captured:
                captured.remove(sig)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # The start-up objects live as long as the process: keep the collector off them.
            settle_after_start()

        async def on_tick(self, counter: int) -> bool:
            if self._drain_until is not None and time.monotonic() >= self._drain_until:
                self.should_exit = True
            return bool(await super().on_tick(counter))

    return GracefulServer


def cmd_serve(args: argparse.Namespace) -> int:
    from moontv.memory import limit_arenas, pause_collector

    limit_arenas()  # before any thread exists: idle memory stays low after bursts
    # No pydantic plugins here: looking for them reads every installed package's metadata at start-up.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    pause_collector()  # until the server is up (settle_after_start): imports build no garbage worth a scan

    import uvicorn

    from moontv.app import create_app
    from moontv.config.file import ConfigFileError, load_config_file
    from moontv.observability import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_format, settings.log_level)
    try:
        load_config_file(settings.config_file)
    except ConfigFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.bind_host
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=settings.port,
        log_config=None,
        access_log=settings.access_log,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=round(settings.shutdown_grace),
        lifespan="on",
    )
    server = _graceful_server_class()(config)
    server.drain = settings.drain_seconds

    def draining() -> None:
        state = getattr(app.state, "moontv", None)
        if state is not None:
            state.shutting_down = True  # /api/ready -> 503
        logging.getLogger("moontv").info("SIGTERM: draining for %.1f s before shutdown", server.drain)

    server.on_drain = draining
    server.run()
    return 0 if server.started else 1


# -- user -------------------------------------------------------------------------------------


@asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[tuple[Storage, ConfigService, AuthService]]:
    from moontv.auth.service import AuthService
    from moontv.auth.tokens import TokenSigner
    from moontv.config.file import load_config_file
    from moontv.config.service import ConfigService
    from moontv.storage.factory import create_storage

    _, text = load_config_file(settings.config_file)
    storage = create_storage(
        settings.storage_kind, data_dir=settings.data_dir, redis_url=settings.storage_url
    )
    await storage.open()
    try:
        config = ConfigService(storage, settings, text, ttl=0)
        await config.initialise(file_exists=settings.config_file.exists())
        signer = TokenSigner(b"x" * 32, ttl_seconds=60)  # the CLI issues no tokens
        auth = AuthService(storage, config, settings, signer)
        yield storage, config, auth
    finally:
        await storage.close()


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise SystemExit("no terminal: pass the password on stdin with --password-stdin")
    import getpass

    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat: "):
        raise SystemExit("passwords do not match")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    import asyncio

    from moontv.auth.service import AuthError, validate_password, validate_username
    from moontv.config.admin import find_user

    settings = _settings(args)

    async def run() -> int:
        async with _services(settings) as (storage, config, auth):
            if args.user_cmd == "list":
                snapshot = await config.get()
                online = await storage.get_last_online()
                print(f"{'USERNAME':<24} {'ROLE':<6} {'STATUS':<7} {'GROUP':<12} LAST ONLINE")
                for user in snapshot.config["UserConfig"]["Users"]:
                    last = online.get(user["username"]) or user.get("lastOnline")
                    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last / 1000)) if last else "-"
                    status = "banned" if user.get("banned") else "active"
                    print(
                        f"{user['username']:<24} {user.get('role', 'user'):<6} {status:<7} "
                        f"{user.get('group') or '-':<12} {when}"
                    )
                return 0
            try:
                username = validate_username(args.username)
                password = validate_password(_read_password(args))
                if args.user_cmd == "add":
                    await auth.create_user(username, password)
                    if args.admin:

                        def promote(cfg: dict) -> None:
                            entry = find_user(cfg, username)
                            if entry is not None:
                                entry["role"] = "admin"

                        await config.update(promote)
                    print(f"user {username} added" + (" (admin)" if args.admin else ""))
                else:
                    if username == settings.username:
                        raise AuthError(400, "the owner's password is the PASSWORD environment variable")
                    if not await storage.user_exists(username):
                        raise AuthError(404, f"user {username} does not exist")
                    await auth.set_password(username, password)
                    print(f"password of {username} changed; their sessions were signed out")
            except AuthError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 1
            return 0

    return asyncio.run(run())


# -- sources add ------------------------------------------------------------------------------


def _default_key(name: str, api: str) -> str:
    """The name when it can be a key, else the API's host name (keys carry no + / , or blanks)."""
    import re
    from urllib.parse import urlsplit

    if name and not re.search(r"[+/,\s]", name):
        return name
    return re.sub(r"[^\w.-]+", "_", urlsplit(api).hostname or "source")


def cmd_sources_add(args: argparse.Namespace) -> int:
    import asyncio

    from moontv.admin import AdminError
    from moontv.admin.sources import apply

    settings = _settings(args)
    body = {
        "action": "add",
        "key": args.key or _default_key(args.name.strip(), args.api.strip()),
        "name": args.name,
        "api": args.api,
        "detail": args.detail or "",
    }

    async def run() -> int:
        async with _services(settings) as (_, config, _auth):
            try:
                await config.update(lambda cfg: apply(cfg, body))
            except AdminError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 1
        print(f"source {body['key']} added: {args.name} -> {args.api}")
        return 0

    return asyncio.run(run())


# -- sources check ----------------------------------------------------------------------------


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def cmd_sources_check(args: argparse.Namespace) -> int:
    """The admin panel's validity check (``admin/validity.py``, through the SSRF guard), as a table."""
    import asyncio

    from moontv.admin.validity import ValidityChecker
    from moontv.config.admin import enabled_sites
    from moontv.streams.netguard import NetGuard

    settings = _settings(args)
    show_progress = sys.stderr.isatty() or args.progress

    async def run() -> int:
        async with _services(settings) as (_, config, _auth):
            snapshot = await config.get()
            sites = enabled_sites(snapshot.config)
            if not sites:
                print("no enabled sources configured")
                return 1
            guard = NetGuard(settings.allow_private_upstreams)
            async with guard.client(timeout=args.timeout, max_redirects=3) as http:
                checker = ValidityChecker(
                    http,
                    max_bytes=settings.upstream_max_bytes,
                    timeout=args.timeout,
                    concurrency=args.concurrency,
                    precheck=guard.check_url,
                )
                job = checker.start(sites, args.query)
                while job.finished_at is None:
                    await asyncio.sleep(0.1)
                    if show_progress:
                        print(f"\r{_bar(job.done, len(sites))}", end="", file=sys.stderr, flush=True)
                await checker.close()
            if show_progress:
                print(f"\r{_bar(job.done, len(sites))}", file=sys.stderr)
            print(f"{'SOURCE':<20} {'STATUS':<11} {'LATENCY':>9}  DETAIL")
            for result in job.results:
                ms = f"{result.latencyMs} ms" if result.latencyMs is not None else "-"
                print(f"{result.key:<20} {result.status:<11} {ms:>9}  {result.message}")
            failed = sum(1 for r in job.results if r.status == "failed")
            print(f"{len(job.results) - failed}/{len(job.results)} sources answered")
            return 1 if failed else 0

    return asyncio.run(run())


# -- config validate / healthcheck ------------------------------------------------------------


def cmd_config_validate(args: argparse.Namespace) -> int:
    from moontv.config.file import ConfigFileError, load_config_file

    if not args.file.exists():
        print(f"error: {args.file}: no such file", file=sys.stderr)
        return 1
    try:
        config, _ = load_config_file(args.file)
    except ConfigFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.file}: OK ({len(config['api_site'])} sources, "
        f"{len(config['custom_category'])} custom categories, cache_time {config.get('cache_time', 7200)})"
    )
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    import urllib.request

    port = args.port or os.environ.get("MOONTV_PORT") or os.environ.get("PORT") or "3000"
    url = args.url or f"http://127.0.0.1:{port}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            return 0 if response.status == 200 else 1
    except Exception as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moontv", description="MoonTV video aggregation server")
    parser.add_argument("--version", action="version", version=f"moontv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host", help="bind address (default 127.0.0.1, or HOSTNAME if it is an address)")
    serve.add_argument("--port", type=int, help="port (default PORT or 3000)")
    _add_common(serve)
    serve.set_defaults(func=cmd_serve)

    user = sub.add_parser("user", help="manage accounts")
    user_sub = user.add_subparsers(dest="user_cmd", required=True)
    for name, helptext in (("add", "create a user"), ("passwd", "set a user's password")):
        p = user_sub.add_parser(name, help=helptext)
        p.add_argument("username")
        p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        if name == "add":
            p.add_argument("--admin", action="store_true", help="make the user an admin")
        _add_common(p)
        p.set_defaults(func=cmd_user)
    listing = user_sub.add_parser("list", help="list users")
    _add_common(listing)
    listing.set_defaults(func=cmd_user)

    sources = sub.add_parser("sources", help="upstream sources")
    sources_sub = sources.add_subparsers(dest="sources_cmd", required=True)
    add = sources_sub.add_parser("add", help="add an Apple CMS v10 source (as the admin page does)")
    add.add_argument("name", help="display name")
    add.add_argument("api", help="the source's API URL (http/https)")
    add.add_argument("--key", help="unique key (default: the name, or the API's host name)")
    add.add_argument("--detail", help="detail page base URL (optional)")
    _add_common(add)
    add.set_defaults(func=cmd_sources_add)
    check = sources_sub.add_parser("check", help="search every enabled source and report")
    check.add_argument("--query", default="我的", help="search term to probe with")
    check.add_argument("--timeout", type=float, default=10.0)
    check.add_argument("--concurrency", type=int, default=8)
    check.add_argument(
        "--progress", action="store_true", help="show the progress bar even without a terminal"
    )
    _add_common(check)
    check.set_defaults(func=cmd_sources_check)

    config = sub.add_parser("config", help="configuration files")
    config_sub = config.add_subparsers(dest="config_cmd", required=True)
    validate = config_sub.add_parser("validate", help="validate a MoonTV config.json")
    validate.add_argument("file", type=Path)
    validate.set_defaults(func=cmd_config_validate)

    health = sub.add_parser("healthcheck", help="exit 0 if the local server answers /api/health")
    health.add_argument("--url")
    health.add_argument("--port")
    health.add_argument("--timeout", type=float, default=2.0)
    health.set_defaults(func=cmd_healthcheck)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.func is cmd_healthcheck:
        # the container HEALTHCHECK runs this every few seconds while the server starts: no settings
        # (pydantic), no app modules, so it takes as little CPU from the starting server as it can
        return cmd_healthcheck(args)
    from moontv.settings import SettingsError

    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
