"""Named hooks: how a lower layer lets a higher one act without importing it.

The lower app declares the hook next to the code that calls it, with the signature its
registrants must have::

    AFTER_STORE = hooks.declare("events.after_store", "(events: list[Event]) -> None", "…")

A higher app registers in its `AppConfig.ready()`, with an order (lower runs first)::

    AFTER_STORE.register(evaluate_stored, order=30)

`linli hooks` prints every hook, its registrants in order and the module of each, so a reader
can follow an event from the adapter to the alarm and its notification without guessing.

A `Registry` is the same for named entries rather than callables (the export lists): one entry
per name, listed by `linli hooks` too.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_counter = itertools.count()


@dataclass(frozen=True)
class Registrant(Generic[T]):
    order: int
    seq: int
    value: T
    module: str
    name: str

    @property
    def where(self) -> str:
        return f"{self.module}.{self.name}"


def _names(value: Any) -> tuple[str, str]:
    module = getattr(value, "__module__", None) or type(value).__module__
    name = getattr(value, "__qualname__", None) or type(value).__qualname__
    return module, name


@dataclass
class Hook(Generic[F]):
    """Callables run in order (lower `order` first, then the order of registration)."""

    name: str
    signature: str
    doc: str
    _registrants: list[Registrant[F]] = field(default_factory=list)

    def register(self, func: F, *, order: int = 100) -> F:
        """Add `func` (again registering the same function, as a reloaded app does, replaces it)."""
        module, name = _names(func)
        self._registrants = [r for r in self._registrants if (r.module, r.name) != (module, name)]
        self._registrants.append(Registrant(order, next(_counter), func, module, name))
        self._registrants.sort(key=lambda r: (r.order, r.seq))
        return func

    def unregister(self, func: F) -> None:
        self._registrants = [r for r in self._registrants if r.value is not func]

    def registrants(self) -> list[Registrant[F]]:
        return list(self._registrants)

    def __iter__(self) -> Iterator[F]:
        return iter([r.value for r in self._registrants])

    def __len__(self) -> int:
        return len(self._registrants)

    def __contains__(self, func: object) -> bool:
        return any(r.value is func for r in self._registrants)

    def __bool__(self) -> bool:
        return bool(self._registrants)

    @contextlib.contextmanager
    def replaced(self, *funcs: F) -> Iterator[None]:
        """Only `funcs`, in this order, until the block ends (tests)."""
        kept = self._registrants
        self._registrants = [Registrant(i, next(_counter), f, *_names(f)) for i, f in enumerate(funcs)]
        try:
            yield
        finally:
            self._registrants = kept

    @contextlib.contextmanager
    def added(self, func: F, *, order: int = 100) -> Iterator[None]:
        """`func` registered until the block ends (tests)."""
        kept = self._registrants
        self.register(func, order=order)
        try:
            yield
        finally:
            self._registrants = kept


@dataclass
class Registry(Generic[T]):
    """Named entries, one per name, in the order they were registered."""

    name: str
    signature: str
    doc: str
    _entries: dict[str, Registrant[T]] = field(default_factory=dict)

    def register(self, key: str, value: T, *, module: str = "") -> T:
        self._entries[key] = Registrant(0, next(_counter), value, module or _names(value)[0], key)
        return value

    def registrants(self) -> list[Registrant[T]]:
        return list(self._entries.values())

    def __getitem__(self, key: str) -> T:
        return self._entries[key].value

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        return list(self._entries)

    def values(self) -> list[T]:
        return [r.value for r in self._entries.values()]


_HOOKS: dict[str, Hook | Registry] = {}


def declare(name: str, signature: str, doc: str) -> Hook:
    """The hook called `name`, declared once by the module that calls it."""
    return _declare(Hook(name, signature, doc))


def declare_registry(name: str, signature: str, doc: str) -> Registry:
    return _declare(Registry(name, signature, doc))


def _declare(hook: Any) -> Any:
    existing = _HOOKS.get(hook.name)
    if existing is not None:
        if type(existing) is not type(hook) or existing.signature != hook.signature:
            raise ValueError(f"hook {hook.name} is declared twice, differently")
        return existing  # the declaring module imported again (a reload): keep its registrants
    _HOOKS[hook.name] = hook
    return hook


def import_declarers(package: str) -> None:
    """Import every module of `package` (tests and migrations aside), so every hook is declared:
    a hook is declared where it is called, and not every such module is loaded at start-up."""
    import importlib
    import pkgutil

    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        parts = module.name.split(".")
        if "tests" in parts or "migrations" in parts or parts[-1] in ("__main__", "conftest"):
            continue
        importlib.import_module(module.name)


def all_hooks() -> list[Hook | Registry]:
    return [_HOOKS[name] for name in sorted(_HOOKS)]


def describe() -> str:
    """Every hook with its signature, meaning and registrants in order (`linli hooks`)."""
    lines = []
    for hook in all_hooks():
        kind = "registry" if isinstance(hook, Registry) else "hook"
        lines.append(f"{hook.name}  ({kind}) {hook.signature}")
        lines.extend(f"    {line}" for line in hook.doc.strip().splitlines())
        registrants = hook.registrants()
        if not registrants:
            lines.append("    - (nothing registered)")
        for r in registrants:
            label = r.name if isinstance(hook, Registry) else f"[{r.order}] {r.where}"
            lines.append(f"    - {label}" + (f"  ({r.module})" if isinstance(hook, Registry) else ""))
        lines.append("")
    return "\n".join(lines)
