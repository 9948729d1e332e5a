"""TemplateLibrary: find templates by name in user directories, then in the shipped ones."""

from __future__ import annotations

import difflib
import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path

from promptlab._render_env import PromptEnvironment
from promptlab._render_limits import RenderLimits
from promptlab.errors import TemplateError, TemplateNotFoundError
from promptlab.prompts.templates import CHAT_SUFFIX, TEXT_SUFFIX, PromptTemplate, load_template, template_name

__all__ = ["TEMPLATE_PATH_ENV", "TemplateLibrary", "shipped_templates_dir"]

TEMPLATE_PATH_ENV = "PROMPTLAB_TEMPLATE_PATH"
_CACHE_SIZE = 256


_Signatures = tuple[tuple[Path, int, int], ...]


class _TemplateCache:
    r"""Loaded templates shared by every library in the process, keyed by file, mtime, size and limits.

    An entry is used again only while the ``default_file``\s it read are unchanged too.

    A request handler that builds a runner (hence a library) per request parses each template
    file once per process, not once per request; an edited file is loaded again, except the
    templates shipped with promptlab, which are package data and never checked again.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Path, int, int, RenderLimits], tuple[PromptTemplate, _Signatures]] = (
            OrderedDict())
        self._environments: dict[RenderLimits, PromptEnvironment] = {}

    def get(self, path: Path, limits: RenderLimits, *, immutable: bool = False) -> PromptTemplate:
        """The template in ``path``; an ``immutable`` file (shipped with the package) is never checked again."""
        if immutable:
            key = (path, -1, -1, limits)
        else:
            key_path = path.absolute()  # not resolve(): one lstat per path component on every runner built
            try:
                stat = key_path.stat()
            except OSError as exc:
                raise TemplateNotFoundError(f"template file {str(path)!r} cannot be read: {exc.strerror}") from exc
            key = (key_path, stat.st_mtime_ns, stat.st_size, limits)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and (immutable or cached[1] == _default_signatures(cached[0])):
                self._entries.move_to_end(key)
                return cached[0]
            environment = self._environments.setdefault(limits, PromptEnvironment(limits))
        template = load_template(path, environment)  # outside the lock: a slow file blocks no one else
        with self._lock:
            self._entries[key] = (template, () if immutable else _default_signatures(template))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return template


def _default_signatures(template: PromptTemplate) -> _Signatures:
    """(file, mtime, size) of every default_file the template read, so an edited one is noticed."""
    signatures = []
    for declared in template.inputs.values():
        if declared.source is not None:
            try:
                stat = declared.source.stat()
            except OSError:
                return ((declared.source, -1, -1),)
            signatures.append((declared.source, stat.st_mtime_ns, stat.st_size))
    return tuple(signatures)


_CACHE = _TemplateCache(_CACHE_SIZE)


@functools.cache
def shipped_templates_dir() -> Path:
    """The templates shipped with promptlab: ``promptlab/_templates`` in a wheel, ``templates/`` in a checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_templates"
    return installed if installed.is_dir() else package.parent / "templates"


class TemplateLibrary:
    """Templates by name. Earlier directories win, so a user's ``cot.jinja`` overrides the shipped one."""

    def __init__(self, dirs: Iterable[str | Path] = (), *, shipped: bool = True,
                 limits: RenderLimits | None = None) -> None:
        user_dirs = [Path(d).expanduser() for d in dirs]
        for directory in user_dirs:
            if not directory.is_dir():
                raise TemplateError(f"template directory {str(directory)!r} does not exist")
        self.dirs: tuple[Path, ...] = (*user_dirs, *([shipped_templates_dir()] if shipped else []))
        self._limits = limits or RenderLimits()

    @classmethod
    def default(cls, dirs: Iterable[str | Path] = (), *, limits: RenderLimits | None = None) -> TemplateLibrary:
        """``dirs``, then the directories in ``$PROMPTLAB_TEMPLATE_PATH`` (os.pathsep-separated), then shipped."""
        from_env = [d for d in os.environ.get(TEMPLATE_PATH_ENV, "").split(os.pathsep) if d]
        return cls([*dirs, *from_env], limits=limits)

    def __repr__(self) -> str:
        return f"TemplateLibrary(dirs={[str(d) for d in self.dirs]!r})"

    def names(self) -> list[str]:
        """Every template name, sorted."""
        return sorted(self._index())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._index()

    def __iter__(self) -> Iterator[PromptTemplate]:
        return (self.get(name) for name in self.names())

    def path_of(self, name: str) -> Path:
        """The file that ``name`` resolves to."""
        index = self._index()
        if name in index:
            return index[name]
        close = difflib.get_close_matches(name, index, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TemplateNotFoundError(
            f"no template named {name!r}{hint}; available: {', '.join(sorted(index)) or '(none)'} "
            f"(searched {', '.join(str(d) for d in self.dirs)})"
        )

    def get(self, name_or_path: str | Path) -> PromptTemplate:
        """A template by name, or by the path of a ``.jinja`` / ``.chat.yaml`` file."""
        path = self._as_path(name_or_path)
        return self._load(path if path is not None else self.path_of(str(name_or_path)))

    def _as_path(self, name_or_path: str | Path) -> Path | None:
        text = str(name_or_path)
        looks_like_path = isinstance(name_or_path, Path) or os.sep in text or "/" in text \
            or text.endswith((TEXT_SUFFIX, CHAT_SUFFIX))
        if not looks_like_path:
            return None
        path = Path(text).expanduser()
        if not path.is_file():
            raise TemplateNotFoundError(f"template file {text!r} does not exist")
        return path

    def _load(self, path: Path) -> PromptTemplate:
        return _CACHE.get(path, self._limits, immutable=path.parent == shipped_templates_dir())

    def _index(self) -> dict[str, Path]:
        index: dict[str, Path] = {}
        for directory in reversed(self.dirs):  # earlier directories override later ones
            index.update(_listing(directory))
        return index


def _listing(directory: Path) -> dict[str, Path]:
    """Template name -> file in ``directory``, cached until the directory's mtime changes.

    The shipped directory is package data: listed once per process, never checked again.
    """
    try:
        if directory == shipped_templates_dir():
            return _scan(directory, -1)
        mtime = directory.stat().st_mtime_ns
    except OSError:
        return {}
    return _scan(directory, mtime)


@functools.lru_cache(maxsize=64)
def _scan(directory: Path, mtime_ns: int) -> dict[str, Path]:
    names = ((template_name(path), path) for path in sorted(directory.iterdir()))
    return {name: path for name, path in names if name is not None and path.is_file()}
