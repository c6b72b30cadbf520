"""HTML5 drag and drop for Reflex pages: drag an item, drop it on a zone, get one Reflex event.

- An element becomes draggable with `draggable=True` and `data_drag=<payload>` (a string, e.g.
  a post id). Buttons and links stay keyboard-usable as before; dragging is an extra.
- `drop_zone(*children, zone=<string>, on_drop=Handler)` is a `<div data-zone=…>` whose
  `on_drop` handler receives `(payload, zone, client_x, client_y)`.
- `dnd_script()` goes once on a page that uses both. It is the client half, by event
  delegation: on `dragstart` it puts the item's payload in the drag data, on `dragover` it lets
  `[data-zone]` accept the drop (`preventDefault`) and marks the zone under the pointer with the
  `sh-drop-over` class. Nothing reaches the backend until the drop: one event, not one per
  pointer move.
"""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var
from reflex.vars.object import ObjectVar
from reflex_components_core.el.elements.typography import Div

MIME = "application/x-socialhub-drag"


def _drop_spec(e: ObjectVar[dict]) -> tuple[Var[str], Var[str], Var[int], Var[int]]:
    """(payload, zone, x, y) of a drop, read while the browser's event is still current."""
    return (
        Var(_js_expr=f"(({e}.dataTransfer && {e}.dataTransfer.getData('{MIME}')) || '')", _var_type=str),
        Var(_js_expr=f"(({e}.currentTarget && {e}.currentTarget.dataset.zone) || '')", _var_type=str),
        Var(_js_expr=f"Math.round({e}.clientX || 0)", _var_type=int),
        Var(_js_expr=f"Math.round({e}.clientY || 0)", _var_type=int),
    )


class DropZone(Div):
    """A div that reports what was dropped on it."""

    on_drop: rx.EventHandler[_drop_spec]


def drop_zone(*children, zone, on_drop, **props) -> rx.Component:
    """A drop target; `zone` says where it is (a date, a date and time…)."""
    return DropZone.create(*children, data_zone=zone, on_drop=on_drop.prevent_default, **props)


_SCRIPT = """
(() => {
  if (window.__shDnd) return;
  window.__shDnd = true;
  const MIME = '%s';
  let over = null;
  const mark = (el) => {
    if (over === el) return;
    if (over) over.classList.remove('sh-drop-over');
    over = el;
    if (over) over.classList.add('sh-drop-over');
  };
  document.addEventListener('dragstart', (e) => {
    const item = e.target.closest && e.target.closest('[data-drag]');
    if (!item) return;
    e.dataTransfer.setData(MIME, item.dataset.drag);
    e.dataTransfer.setData('text/plain', item.dataset.dragLabel || '');
    e.dataTransfer.effectAllowed = 'move';
    document.body.classList.add('sh-dragging');
  });
  document.addEventListener('dragover', (e) => {
    const zone = e.target.closest && e.target.closest('[data-zone]');
    if (!zone || !Array.from(e.dataTransfer.types || []).includes(MIME)) { mark(null); return; }
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    mark(zone);
  });
  const end = () => { mark(null); document.body.classList.remove('sh-dragging'); };
  document.addEventListener('drop', end, true);
  document.addEventListener('dragend', end);
})();
""" % MIME


def dnd_script() -> rx.Component:
    return rx.script(_SCRIPT)
