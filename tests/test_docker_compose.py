"""The production deployment in docker/ agrees with the code it deploys.

No Docker engine is needed: the compose file, the Dockerfiles and .dockerignore are read as data
and checked against the settings module and the repository tree. Only the last test runs the
`docker compose` client (``config``, offline), and it is skipped where that client is missing.
"""

from __future__ import annotations

import http.server
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
SETTINGS_SOURCE = REPO / "config" / "settings.py"
APP_SERVICES = ("migrate", "web", "worker", "beat", "gpu-worker")
WORKER_SERVICES = ("worker", "gpu-worker")
VAR_DIR_IN_CONTAINERS = "/var/lib/prefroute"

# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]


def option_value(args: list[str], *names: str) -> str | None:
    for index, arg in enumerate(args):
        if arg in names and index + 1 < len(args):
            return args[index + 1]
        for name in names:
            if name.startswith("--") and arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def queues_of(service: dict[str, Any]) -> set[str]:
    value = option_value(command_of(service), "-Q", "--queues")
    assert value, f"worker command {command_of(service)} selects no queue with -Q"
    return {queue.strip() for queue in value.split(",") if queue.strip()}


def healthcheck_of(service: dict[str, Any]) -> str:
    """The health check command as the container runs it (compose turns $$ into $)."""
    test = service.get("healthcheck", {}).get("test")
    assert test, "service has no healthcheck"
    if isinstance(test, list):
        assert test[0] in {"CMD", "CMD-SHELL"}, f"healthcheck {test} is neither CMD nor CMD-SHELL"
        test = " ".join(test[1:])
    return test.replace("$$", "$")


def environment_of(service: dict[str, Any]) -> dict[str, Any]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        pairs = (entry.partition("=") for entry in environment)
        return {name: value if equals else None for name, equals, value in pairs}
    return environment


def settings_environment_names() -> set[str]:
    """Every variable config/settings.py reads, plus NAME_FILE for the string ones."""
    source = SETTINGS_SOURCE.read_text()
    readers = r"read_(?:str|bool|int_map|int|list|choice)|os\.environ\.get|os\.getenv|os\.environ\["
    names = set(re.findall(rf"(?:{readers})\(?\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    string_names = set(re.findall(r"read_str\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    assert "SECRET_KEY" in names, "could not find the variables settings.py reads"
    return names | {f"{name}_FILE" for name in string_names}


def interpolated_names(text: str) -> set[str]:
    """Names of ${VAR}, ${VAR:-x}, ${VAR:?x} in a compose file ($$ escapes excluded)."""
    return set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def copy_sources(arguments: str) -> list[str] | None:
    """Sources of a COPY/ADD taken from the build context; None for COPY --from=another stage."""
    parts = yaml.safe_load(arguments) if arguments.startswith("[") else shlex.split(arguments)
    flags = [part for part in parts if part.startswith("--")]
    if any(flag.startswith("--from=") for flag in flags):
        return None
    paths = [part for part in parts if not part.startswith("--")]
    assert len(paths) >= 2, f"COPY/ADD {arguments!r} needs a source and a destination"
    return paths[:-1]


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exception, regex) per .dockerignore line, in Docker's matching semantics (simplified)."""
    patterns = []
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        line = line.lstrip("!").strip().strip("/")
        regex = ""
        index = 0
        while index < len(line):
            if line.startswith("**/", index):
                regex += "(?:.*/)?"
                index += 3
            elif line.startswith("**", index):
                regex += ".*"
                index += 2
            elif line[index] == "*":
                regex += "[^/]*"
                index += 1
            elif line[index] == "?":
                regex += "[^/]"
                index += 1
            elif line[index] == "[":
                end = line.index("]", index)
                regex += line[index : end + 1]
                index = end + 1
            else:
                regex += re.escape(line[index])
                index += 1
        patterns.append((exception, re.compile(regex + r"\Z")))
    return patterns


def is_dockerignored(relative_path: str) -> bool:
    """Whether the build context leaves this path (or a folder above it) out; last match wins."""
    parts = relative_path.strip("/").split("/")
    candidates = ["/".join(parts[: depth + 1]) for depth in range(len(parts))]
    ignored = False
    for exception, pattern in dockerignore_patterns():
        if any(pattern.match(candidate) for candidate in candidates):
            ignored = not exception
    return ignored


def dockerfiles_built_by(services: dict[str, dict[str, Any]]) -> dict[str, Path]:
    built = {}
    for name, service in services.items():
        if "build" in service:
            build = service["build"]
            context = (DOCKER / build["context"]).resolve()
            built[name] = context / build.get("dockerfile", "Dockerfile")
    return built


# --- services -----------------------------------------------------------------------------------


def test_compose_runs_postgres_redis_migrate_web_worker_beat_and_gpu_worker(services):
    assert {"postgres", "redis", "migrate", "web", "worker", "beat", "gpu-worker"} <= set(services)


def test_exactly_one_beat_sends_the_periodic_tasks(services):
    commands = {name: command_of(service) for name, service in services.items()}
    assert [name for name, args in commands.items() if "beat" in args or "-B" in args] == ["beat"]
    assert "--beat" not in commands["worker"] and "--beat" not in commands["gpu-worker"]


def test_postgres_is_version_16_or_17_checked_by_pg_isready_on_a_named_volume(services):
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:1[67](\.\d+)*(-\w+)?", postgres["image"])
    assert "pg_isready" in healthcheck_of(postgres)
    assert any(str(volume).endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])


def test_redis_is_version_7_checked_by_redis_cli_ping_on_a_named_volume(services):
    redis = services["redis"]
    assert re.fullmatch(r"redis:7(\.\d+)*(-\w+)?", redis["image"])
    check = healthcheck_of(redis)
    assert "redis-cli" in check and "ping" in check
    assert any(str(volume).endswith(":/data") for volume in redis["volumes"])


def test_web_serves_the_wsgi_app_with_gunicorn_on_8000_and_checks_healthz(services):
    web = services["web"]
    command = command_of(web)
    assert command[0] == "gunicorn"
    assert "config.wsgi:application" in command
    assert option_value(command, "--bind", "-b") == "0.0.0.0:8000"
    assert settings.WSGI_APPLICATION == "config.wsgi.application"
    assert "/healthz" in healthcheck_of(web)
    assert any(str(port).endswith(":8000") for port in web["ports"])


def test_web_runs_threaded_gunicorn_workers_sized_by_web_workers_and_web_threads(services):
    # Threads overlap the database waits of the annotator loop (bench/RESULTS.md, issue 18).
    command = command_of(services["web"])
    assert option_value(command, "--worker-class", "-k") == "gthread"
    assert option_value(command, "--workers", "-w") == "${WEB_WORKERS:-2}"
    assert option_value(command, "--threads") == "${WEB_THREADS:-4}"
    image_command = (DOCKER / "Dockerfile").read_text().split("\nCMD ")[-1]
    assert '"--worker-class", "gthread"' in image_command and '"--threads", "4"' in image_command


def test_migrations_run_once_before_web_and_workers_start(services):
    migrate = services["migrate"]
    assert command_of(migrate)[-3:] == ["manage.py", "migrate", "--noinput"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert str(migrate.get("restart", "no")) == "no"
    for name in ("web", *WORKER_SERVICES):
        depends_on = services[name]["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name


def test_worker_consumes_default_and_llm_and_answers_a_celery_ping_to_its_own_node(services):
    worker = services["worker"]
    command = command_of(worker)
    assert command[:4] == ["celery", "-A", "config", "worker"]
    assert queues_of(worker) == {"default", "llm"}
    assert "deploy" not in worker, "the CPU worker must not reserve a GPU"
    node_prefix = option_value(command, "--hostname", "-n").split("@")[0]
    check = healthcheck_of(worker)
    assert "celery -A config inspect ping" in check
    assert f"{node_prefix}@$HOSTNAME" in check


def test_gpu_worker_reserves_an_nvidia_gpu_and_consumes_only_the_gpu_queue(services):
    gpu_worker = services["gpu-worker"]
    command = command_of(gpu_worker)
    assert command[:4] == ["celery", "-A", "config", "worker"]
    assert queues_of(gpu_worker) == {"gpu"}
    devices = gpu_worker["deploy"]["resources"]["reservations"]["devices"]
    assert any(
        device["driver"] == "nvidia"
        and "gpu" in device["capabilities"]
        and (device.get("count") == "all" or int(device.get("count", 0)) >= 1)
        for device in devices
    )
    assert environment_of(gpu_worker)["MODELS_DEVICE"] == "cuda"
    node_prefix = option_value(command, "--hostname", "-n").split("@")[0]
    check = healthcheck_of(gpu_worker)
    assert "celery -A config inspect ping" in check
    assert f"{node_prefix}@$HOSTNAME" in check


def test_worker_node_names_differ_between_worker_kinds(services):
    prefixes = [
        option_value(command_of(services[name]), "--hostname", "-n").split("@")[0]
        for name in WORKER_SERVICES
    ]
    assert len(set(prefixes)) == len(prefixes)


def test_every_queue_consumed_in_compose_is_one_celery_routes_to(services):
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    known = routed | {settings.CELERY_TASK_DEFAULT_QUEUE}
    for name in WORKER_SERVICES:
        assert queues_of(services[name]) <= known, name


def test_every_queue_celery_routes_to_has_a_worker_in_compose(services):
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    consumed = set().union(*(queues_of(services[name]) for name in WORKER_SERVICES))
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= consumed


# --- images ---------------------------------------------------------------------------------------


def test_application_services_build_from_dockerfiles_that_exist(services):
    built = dockerfiles_built_by(services)
    assert set(APP_SERVICES) <= set(built)
    for name, dockerfile in built.items():
        assert dockerfile.is_file(), f"{name} builds from missing {dockerfile}"
        assert (DOCKER / services[name]["build"]["context"]).resolve() == REPO, name
    assert built["gpu-worker"].name == "Dockerfile.gpu"
    assert built["web"] == built["worker"] == built["migrate"]


def test_every_copy_and_add_source_exists_in_the_repository_and_reaches_the_build_context():
    for dockerfile in (DOCKER / "Dockerfile", DOCKER / "Dockerfile.gpu"):
        copies = [
            args
            for keyword, args in dockerfile_instructions(dockerfile)
            if keyword in {"COPY", "ADD"}
        ]
        assert copies, f"{dockerfile.name} copies nothing"
        for arguments in copies:
            for source in copy_sources(arguments) or []:
                assert not source.startswith(("http://", "https://")), "ADD from a URL"
                matches = list(REPO.glob(source)) if source != "." else [REPO]
                assert matches, f"{dockerfile.name}: COPY source {source!r} is not in the repo"
                if source != ".":
                    assert not is_dockerignored(source), f"{source!r} is in .dockerignore"


def test_images_install_the_dependencies_of_pyproject_including_the_server_commands():
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {
        re.split(r"[\s\[<>=!~;]", dependency, maxsplit=1)[0].lower() for dependency in dependencies
    }
    # gunicorn serves web, celery runs the workers: both must come from pyproject.toml.
    assert {"gunicorn", "celery", "torch"} <= names
    for dockerfile in (DOCKER / "Dockerfile", DOCKER / "Dockerfile.gpu"):
        text = dockerfile.read_text()
        assert "COPY pyproject.toml" in text
        assert "pip install -r /tmp/build/requirements.txt" in text
        assert "TORCH_INDEX_URL" in text


def test_images_install_the_openmp_runtime_that_lightgbms_library_links_against():
    """python:slim has no libgomp; LightGBM's wheel needs it (torch bundles its own)."""
    import lightgbm

    library = Path(lightgbm.__file__).parent / "lib" / "lib_lightgbm.so"
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    needed = subprocess.run(
        [objdump, "-p", str(library)], capture_output=True, text=True, check=True
    ).stdout
    assert "libgomp.so.1" in needed
    for dockerfile in (DOCKER / "Dockerfile", DOCKER / "Dockerfile.gpu"):
        installs = " ".join(
            args for keyword, args in dockerfile_instructions(dockerfile) if keyword == "RUN"
        )
        assert re.search(r"apt-get install[^&]*\blibgomp1\b", installs), dockerfile.name


def test_cpu_image_takes_cpu_torch_and_gpu_image_takes_the_default_cuda_build():
    cpu_args = dict(
        args.split("=", 1)
        for keyword, args in dockerfile_instructions(DOCKER / "Dockerfile")
        if keyword == "ARG" and "=" in args
    )
    gpu_args = dict(
        args.split("=", 1)
        for keyword, args in dockerfile_instructions(DOCKER / "Dockerfile.gpu")
        if keyword == "ARG" and "=" in args
    )
    assert cpu_args["TORCH_INDEX_URL"].rstrip("/").endswith("/whl/cpu")
    assert gpu_args["TORCH_INDEX_URL"].strip("\"'") == ""


def test_images_collect_static_files_at_build_time_outside_the_data_volume():
    for dockerfile in (DOCKER / "Dockerfile", DOCKER / "Dockerfile.gpu"):
        instructions = dockerfile_instructions(dockerfile)
        runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
        assert "manage.py collectstatic --noinput" in runs
        env = " ".join(args for keyword, args in instructions if keyword == "ENV")
        static_root = re.search(r"STATIC_ROOT=(\S+)", env).group(1)
        assert not static_root.startswith(VAR_DIR_IN_CONTAINERS), (
            "the data volume mounted at VAR_DIR would hide (and later stale) the collected files"
        )


def test_images_keep_no_secret_key_in_their_environment_and_run_unprivileged():
    for dockerfile in (DOCKER / "Dockerfile", DOCKER / "Dockerfile.gpu"):
        instructions = dockerfile_instructions(dockerfile)
        for keyword, args in instructions:
            if keyword in {"ENV", "ARG"}:
                assert "SECRET_KEY" not in args, f"{dockerfile.name}: {keyword} {args}"
        users = [args for keyword, args in instructions if keyword == "USER"]
        assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context():
    for path in (
        "docker/.env",
        ".env",
        ".git/HEAD",
        ".venv/bin/python",
        "var/db.sqlite3",
        "annotate/__pycache__/models.cpython-311.pyc",
    ):
        assert is_dockerignored(path), path
    for path in (
        "docker/.env.example",
        "pyproject.toml",
        "manage.py",
        "docker/entrypoint.sh",
        "config/settings.py",
    ):
        assert not is_dockerignored(path), path


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="not a git checkout")
def test_git_ignores_the_deployment_env_file_that_holds_the_secrets():
    ignored = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--quiet", "--no-index", "docker/.env"],
        check=False,
    )
    assert ignored.returncode == 0, "add docker/.env (or .env) to .gitignore"


def test_entrypoint_is_an_executable_posix_shell_script():
    entrypoint = DOCKER / "entrypoint.sh"
    assert entrypoint.read_text().startswith("#!/bin/sh\n")
    assert os.access(entrypoint, os.X_OK)
    subprocess.run(["sh", "-n", str(entrypoint)], check=True)


@pytest.fixture
def http_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz" and self.headers["X-Forwarded-Proto"] == "https":
                self.send_response(200)
            else:
                self.send_response(301)
                self.send_header("Location", "/healthz")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_web_health_probe_passes_on_200_and_fails_on_a_redirect_it_does_not_follow(http_server):
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "ALLOWED_HOSTS": ".example.org,localhost",
        "VAR_DIR": "/nonexistent",
    }
    probe = [str(DOCKER / "entrypoint.sh"), "probe-http"]
    healthy = subprocess.run(
        [*probe, f"{http_server}/healthz"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert healthy.returncode == 0, healthy.stderr
    redirected = subprocess.run(
        [*probe, f"{http_server}/elsewhere"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert redirected.returncode != 0
    assert "answered 301 (Host: example.org)" in redirected.stderr


# --- environment and secrets -------------------------------------------------------------------


def test_no_secret_value_is_written_in_the_compose_file(services):
    text = COMPOSE_FILE.read_text()
    for line in text.splitlines():
        match = re.match(r"\s*-?\s*(\w*(?:SECRET_KEY|PASSWORD)\w*)\s*[:=]\s*(\S.*)?$", line)
        if match and match.group(2):
            assert match.group(2).startswith("${"), f"literal secret in compose: {line.strip()}"
    for name in APP_SERVICES:
        secret_key = environment_of(services[name])["SECRET_KEY"]
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", secret_key), name
        for url in ("DATABASE_URL", "CELERY_BROKER_URL"):
            credentials = environment_of(services[name])[url].split("@")[0]
            assert "${" in credentials, f"{name}: {url} carries a literal password"


def test_every_environment_variable_compose_gives_the_app_is_one_settings_reads(services):
    readable = settings_environment_names()
    for name in APP_SERVICES:
        unknown = set(environment_of(services[name])) - readable
        assert not unknown, f"{name} sets variables settings.py never reads: {sorted(unknown)}"


def test_app_containers_point_at_the_compose_database_and_broker(services):
    for name in APP_SERVICES:
        environment = environment_of(services[name])
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert "@${POSTGRES_HOST:-postgres}:" in environment["DATABASE_URL"]
        assert environment["CELERY_BROKER_URL"].startswith("redis://")
        assert "@${REDIS_HOST:-redis}:" in environment["CELERY_BROKER_URL"]
        assert str(environment["DEBUG"]) in {"0", "${DEBUG:-0}"}


def test_workers_keep_var_dir_and_embedding_cache_on_declared_named_volumes(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith(("/", ".", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source!r}"
    for name in ("web", *WORKER_SERVICES):
        environment = environment_of(services[name])
        mounts = {
            str(volume).split(":")[1]: str(volume).split(":")[0]
            for volume in services[name]["volumes"]
        }
        for variable in ("VAR_DIR", "EMBEDDING_CACHE_DIR"):
            path = environment[variable]
            assert any(path == target or path.startswith(f"{target}/") for target in mounts), (
                f"{name}: {variable}={path} is not on a volume"
            )


def test_env_example_names_every_required_compose_variable():
    text = COMPOSE_FILE.read_text()
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", text))
    example = (DOCKER / ".env.example").read_text()
    defined = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert required and required <= defined
    # The example must not ship usable secrets.
    for name in required:
        assert re.search(rf"^{name}=$", example, flags=re.MULTILINE), name


def test_readme_documents_every_setting_and_every_compose_variable():
    readme = (DOCKER / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", readme))
    settings_names = {name for name in settings_environment_names() if not name.endswith("_FILE")}
    assert not settings_names - documented, sorted(settings_names - documented)
    compose_names = interpolated_names(COMPOSE_FILE.read_text())
    assert not compose_names - documented, sorted(compose_names - documented)


# --- the docker compose client ----------------------------------------------------------------


def _compose_client() -> list[str] | None:
    candidates = [["docker", "compose"], ["docker-compose"]]
    for candidate in candidates:
        if shutil.which(candidate[0]) is None:
            continue
        probe = subprocess.run([*candidate, "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0 and re.search(r"v?2\.\d+", probe.stdout):
            return candidate
    return None


@pytest.mark.skipif(_compose_client() is None, reason="no docker compose v2 client here")
def test_compose_file_is_valid_for_the_docker_compose_client():
    client = _compose_client()
    environment = {
        **os.environ,
        "SECRET_KEY": "s" * 50,
        "POSTGRES_PASSWORD": "p" * 32,
        "REDIS_PASSWORD": "r" * 32,
    }
    result = subprocess.run(
        [
            *client,
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(DOCKER / ".env.example"),
            "--profile",
            "gpu",
            "config",
            "--quiet",
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
