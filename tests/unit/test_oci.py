"""The bench's OCI image writer: an archive ctr can import, content-addressed and reproducible."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from devkit.cluster.oci import ImageConfig, write_image


def _layer(path: Path) -> Path:
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("hello")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"world"))
    return path


def _blob(archive: tarfile.TarFile, digest: str) -> bytes:
    member = archive.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}")
    assert member is not None
    data = member.read()
    assert hashlib.sha256(data).hexdigest() == digest.removeprefix("sha256:")
    return data


def test_the_archive_names_the_image_and_every_blob_matches_its_digest(tmp_path: Path) -> None:
    config = ImageConfig(
        entrypoint=["chainlink"], cmd=["local", "node"], user="chainlink", stop_signal="SIGINT"
    )
    digest = write_image(_layer(tmp_path / "layer.tar"), tmp_path / "image.tar", "docker.io/x/y:1.2", config)
    with tarfile.open(tmp_path / "image.tar") as archive:
        index = json.loads(archive.extractfile("index.json").read())  # type: ignore[union-attr]
        (entry,) = index["manifests"]
        assert entry["digest"] == digest
        assert entry["annotations"]["io.containerd.image.name"] == "docker.io/x/y:1.2"
        assert entry["annotations"]["org.opencontainers.image.ref.name"] == "1.2"
        manifest = json.loads(_blob(archive, digest))
        image = json.loads(_blob(archive, manifest["config"]["digest"]))
        (layer,) = manifest["layers"]
        _blob(archive, layer["digest"])
    # Uncompressed: the layer's digest is its diff_id.
    assert image["rootfs"]["diff_ids"] == [layer["digest"]]
    assert image["config"]["Entrypoint"] == ["chainlink"]
    assert image["config"]["Cmd"] == ["local", "node"]
    assert image["config"]["User"] == "chainlink"
    assert image["config"]["StopSignal"] == "SIGINT"


def test_the_same_layer_and_config_give_the_same_image(tmp_path: Path) -> None:
    layer = _layer(tmp_path / "layer.tar")
    first = write_image(layer, tmp_path / "a.tar", "x:1", ImageConfig())
    second = write_image(layer, tmp_path / "b.tar", "x:1", ImageConfig())
    assert first == second
    assert write_image(layer, tmp_path / "c.tar", "x:1", ImageConfig(user="1000")) != first
