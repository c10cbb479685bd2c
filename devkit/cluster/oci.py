"""One-layer OCI image archives that ``ctr images import`` takes, written with the standard library.

The layer is stored uncompressed, so its digest is also its diff_id and nothing is recompressed on
import. ``index.json`` names the image with ``io.containerd.image.name``, the name ctr imports it under.
(Image layout: https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md)
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = 0  # fixed timestamps: the same layer and config give the same image digest


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of an OCI image config (what a Dockerfile's ENV/USER/ENTRYPOINT... set)."""

    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=lambda: [PATH_ENV])
    user: str = ""
    workdir: str = "/"
    stop_signal: str = ""
    exposed_ports: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        config: dict[str, object] = {"Env": self.env, "WorkingDir": self.workdir, "User": self.user}
        if self.entrypoint:
            config["Entrypoint"] = self.entrypoint
        if self.cmd:
            config["Cmd"] = self.cmd
        if self.stop_signal:
            config["StopSignal"] = self.stop_signal
        if self.exposed_ports:
            config["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        return config


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = EPOCH
    archive.addfile(info, io.BytesIO(data))


def write_image(layer: Path, out: Path, name: str, config: ImageConfig) -> str:
    """Write the OCI archive ``out`` for image ``name`` (registry/repo:tag); returns the manifest digest."""
    layer_digest = sha256_file(layer)
    config_blob = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": config.as_json(),
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
            "history": [{"created_by": "chainlink-k8s devkit/cluster/images.py"}],
        },
        sort_keys=True,
    ).encode()
    config_digest = hashlib.sha256(config_blob).hexdigest()
    manifest_blob = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{config_digest}",
                "size": len(config_blob),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": f"sha256:{layer_digest}",
                    "size": layer.stat().st_size,
                }
            ],
        },
        sort_keys=True,
    ).encode()
    manifest_digest = hashlib.sha256(manifest_blob).hexdigest()
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{manifest_digest}",
                "size": len(manifest_blob),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": name,
                    "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1],
                },
            }
        ],
    }
    tmp = out.with_suffix(".partial")
    with tarfile.open(tmp, "w") as archive:
        _add_bytes(archive, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add_bytes(archive, "index.json", json.dumps(index).encode())
        _add_bytes(archive, f"blobs/sha256/{config_digest}", config_blob)
        _add_bytes(archive, f"blobs/sha256/{manifest_digest}", manifest_blob)
        archive.add(layer, f"blobs/sha256/{layer_digest}")
    tmp.replace(out)
    return f"sha256:{manifest_digest}"
