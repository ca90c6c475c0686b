"""The argument checks every module shares: ints, floats, bools, text, generators.

The library fails early and clearly. A wrong argument raises a ``TypeError`` (the
wrong kind of value) or a ``ValueError`` (the right kind, out of range), and the
message names the argument and what it got:

>>> check_int("max_length", 0, 1)
Traceback (most recent call last):
    ...
ValueError: max_length must be >= 1, got 0

Each check returns the value it passed (a float check returns a ``float``, so that
``0`` read from JSON becomes ``0.0``), which lets a caller check and keep in one line:
``self.rate = check_float("rate", rate, 0.0, 1.0)``. A bool is not accepted where an
int or a float is asked for, though Python counts ``True`` as the int 1: a flag passed
in the wrong place is a mistake worth reporting.

Only the generic checks live here. A check that knows the model (token ids within the
vocabulary, tensor shapes, a tokenizer's texts) stays next to the code that needs it,
e.g. ``bertguide.embeddings.check_ids``.
"""

from __future__ import annotations

import math
from typing import Any

import torch


def check_int(
    name: str,
    value: Any,
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    optional: bool = False,
) -> int | None:
    """``value`` if it is an int in [minimum, maximum] (a bound of None: no bound).

    With ``optional`` None passes too. Otherwise a TypeError or ValueError naming
    ``name``.

    >>> check_int("batch_size", 8, 1)
    8
    >>> check_int("max_steps", None, 1, optional=True) is None
    True
    >>> check_int("top_k", True, 1)
    Traceback (most recent call last):
        ...
    TypeError: top_k must be an int, not bool
    >>> check_int("layer", 12, 0, 11)
    Traceback (most recent call last):
        ...
    ValueError: layer must be in [0, 11], got 12
    """
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "an int or None" if optional else "an int"
        raise TypeError(f"{name} must be {kind}, not {type(value).__name__}")
    too_low = minimum is not None and value < minimum
    too_high = maximum is not None and value > maximum
    if too_low or too_high:
        if minimum is not None and maximum is not None:
            wanted = f"in [{minimum}, {maximum}]"
        else:
            wanted = f">= {minimum}" if too_low else f"<= {maximum}"
        raise ValueError(f"{name} must be {wanted}, got {value}")
    return value


def check_float(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """``value`` as a float in the interval from ``low`` to ``high``.

    The bounds belong to the interval unless ``open_low`` / ``open_high``; an open
    infinite bound asks for a finite number. NaN never passes. An int is accepted (and
    returned as a float); anything else, a bool included, is a TypeError.

    >>> check_float("dropout", 0, 0.0, 1.0, open_high=True)    # [0, 1)
    0.0
    >>> check_float("dropout", 1.0, 0.0, 1.0, open_high=True)
    Traceback (most recent call last):
        ...
    ValueError: dropout must be in [0, 1), got 1.0
    >>> check_float("learning_rate", 0.0, 0.0, open_low=True, open_high=True)
    Traceback (most recent call last):
        ...
    ValueError: learning_rate must be a finite number > 0, got 0.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float, not {type(value).__name__}")
    value = float(value)
    above = value > low if open_low else value >= low
    below = value < high if open_high else value <= high
    if above and below:
        return value
    if math.isfinite(low) and math.isfinite(high):
        wanted = f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
    else:
        finite = (open_low and low == -math.inf) or (open_high and high == math.inf)
        wanted = "a finite number" if finite else "a number"
        if math.isfinite(low):
            wanted += f" {'>' if open_low else '>='} {low:g}"
        if math.isfinite(high):
            wanted += f" {'<' if open_high else '<='} {high:g}"
    raise ValueError(f"{name} must be {wanted}, got {value}")


def check_bool(name: str, value: Any, *, optional: bool = False) -> bool | None:
    """``value`` if it is True or False (or None, when ``optional``); 1 and 0 are not.

    >>> check_bool("padding", True)
    True
    >>> check_bool("show_progress", None, optional=True) is None
    True
    >>> check_bool("use_cache", 1)
    Traceback (most recent call last):
        ...
    TypeError: use_cache must be a bool, not int
    """
    if optional and value is None:
        return None
    if not isinstance(value, bool):
        kind = "a bool or None" if optional else "a bool"
        raise TypeError(f"{name} must be {kind}, not {type(value).__name__}")
    return value


def check_flags(**flags: Any) -> None:
    """``check_bool`` on every keyword: ``check_flags(output_attentions=...)``.

    >>> check_flags(output_attentions=False, output_hidden_states="yes")
    Traceback (most recent call last):
        ...
    TypeError: output_hidden_states must be a bool, not str
    """
    for name, flag in flags.items():
        check_bool(name, flag)


def check_str(name: str, value: Any, *, empty: bool = True) -> str:
    """``value`` if it is a str; with ``empty=False`` it must hold more than whitespace.

    >>> check_str("text", "Hi")
    'Hi'
    >>> check_str("text", ["Hi"])
    Traceback (most recent call last):
        ...
    TypeError: text must be a str, not list
    >>> check_str("text", "  ", empty=False)
    Traceback (most recent call last):
        ...
    ValueError: text is empty
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not empty and not value.strip():
        raise ValueError(f"{name} is empty")
    return value


def check_generator(name: str, value: Any) -> torch.Generator | None:
    """``value`` if it is a ``torch.Generator`` or None (then torch's global one draws).

    >>> check_generator("generator", None) is None
    True
    >>> check_generator("generator", 0)
    Traceback (most recent call last):
        ...
    TypeError: generator must be a torch.Generator or None, not int
    """
    if value is not None and not isinstance(value, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator or None, not {type(value).__name__}")
    return value
