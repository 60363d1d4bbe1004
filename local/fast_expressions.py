"""Update expressions parsed once and walked faster, for the local emulator.

moto 5.2.5 parses an UpdateExpression twice per item (once to check the names
it uses, once to apply it), and a release transaction of ten holds names 21
items with three distinct expressions: parsing was a fifth of its time
(bench/holds.py). A parsed expression depends on its text alone, and moto never
changes one (the validator that binds values and the item works on its own deep
copy), so the same text is parsed once. A bad expression raises as before and is
not kept.

Then moto's validator deep-copies the tree and walks it ten times (one
processor each), and these were three quarters of each updated item's time:
- each walk asked every node `isinstance` against ABCMeta classes and rebuilt
  the processor's map of node classes twice per node. `traverse` here is the
  same depth-first, bottom-up walk, with each (processor, node class) pair's
  answer looked up once;
- `copy.deepcopy` of a tree went through the generic reduce protocol for each
  node. `Node.__deepcopy__` here copies a node's attributes as deepcopy would
  (children and parents by the same memo, so the copy's links are its own);
- the first three of the ten (one clause of each kind, no overlapping paths,
  no key attribute set) read only the tree, the attribute names and the
  table's key, and change nothing; the first (ActionCountValidator) searches
  the whole tree again at each of its nested nodes. Once a parsed tree passed
  them with the same names on a table with the same key, they are not run
  again for it.
Installed by the emulator, as `fast_transactions` is.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import (
    ActionCountValidator,
    OverlappingPathsValidator,
    UpdateExpressionValidator,
    UpdateHashRangeKeyValidator,
)

from local import moto_pin

MOTO_VERSION = moto_pin.MOTO_VERSION
CACHED = 4096  # distinct expression texts kept; the app sends a few dozen

_parse = UpdateExpressionParser.make


@functools.lru_cache(maxsize=CACHED)
def _parsed(expression: str) -> Any:
    return _parse(expression)


def make(cls: type[UpdateExpressionParser], expression: str) -> Any:
    """moto's `UpdateExpressionParser.make`, once per expression text."""
    return _parsed(expression)


# (processor class, node class) -> the position of the node's processing
# function in the processor's map, or -1: not processed. moto's maps are
# literals, the same classes in the same order at every call.
_DISPATCH: dict[tuple[type, type], int] = {}
_IS_NODE: dict[type, bool] = {}
_NO_PRE = DepthFirstTraverser.pre_processing_of_child
_ATOMS = frozenset((str, int, float, bool, type(None)))


def _position(traverser: DepthFirstTraverser, kind: type, node: Any) -> int:
    key = (type(traverser), kind)
    found = _DISPATCH.get(key)
    if found is None:
        found = -1
        if isinstance(node, traverser.nodes_to_be_processed()):
            for n, class_key in enumerate(traverser._processing_map()):
                if isinstance(node, class_key):
                    found = n
                    break
        _DISPATCH[key] = found
    return found


def traverse(self: DepthFirstTraverser, root: Any) -> Any:
    """moto's `DepthFirstTraverser.traverse`: children first, each processed
    node put in its parent's place; the processor's hook before each child
    is called when the processor has one."""
    functions = list(self._processing_map().values())
    pre = None if type(self).pre_processing_of_child is _NO_PRE else self.pre_processing_of_child

    def walk(node: Any, child_id: int) -> Any:
        kind = type(node)
        is_node = _IS_NODE.get(kind)
        if is_node is None:
            is_node = _IS_NODE[kind] = isinstance(node, Node)
        if not is_node:
            return node
        parent = node.parent
        if node.children is not None:
            for i, child in enumerate(node.children):
                if pre is not None:
                    pre(node, i)
                walk(child, i)
        position = _position(self, kind, node)
        if position >= 0:
            node = functions[position](node)
            node.parent = parent
            if parent:
                parent.children[child_id] = node
        return node

    return walk(root, -1)


def _copied(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in _ATOMS:
        return value
    done = memo.get(id(value))
    if done is not None:
        return done
    is_node = _IS_NODE.get(kind)
    if is_node is None:
        is_node = _IS_NODE[kind] = isinstance(value, Node)
    if is_node and kind.__deepcopy__ is node_copy:  # type: ignore[attr-defined]
        return node_copy(value, memo)
    if kind is list:
        items: list[Any] = []
        memo[id(value)] = items
        items.extend(_copied(item, memo) for item in value)
        return items
    return copy.deepcopy(value, memo)


def node_copy(self: Node, memo: dict[int, Any]) -> Node:
    """`copy.deepcopy` of a moto AST node (its class's, no reduce protocol):
    each attribute copied once through the shared memo, atoms kept."""
    twin = object.__new__(type(self))
    memo[id(self)] = twin
    fields = twin.__dict__
    for name, value in self.__dict__.items():
        fields[name] = _copied(value, memo)
    return twin


# The processors that read only the tree, the names and the table's key.
_PURE = (ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator)
# (tree's id, names, key attributes) -> the tree (kept, so that its id stays its own).
_PASSED: dict[tuple[int, tuple[tuple[str, str], ...], tuple[str, ...]], Any] = {}
_init = UpdateExpressionValidator.__init__
_validate = UpdateExpressionValidator.validate


def _passed_key(expression: Any, names: Any, table: Any) -> Any:
    return id(expression), tuple(sorted((names or {}).items())), tuple(table.table_key_attrs)


def validator_init(
    self: UpdateExpressionValidator,
    expression: Any,
    expression_attribute_names: Any,
    expression_attribute_values: Any,
    item: Any,
    table: Any,
) -> None:
    """moto's, without the read-only checks this tree already passed."""
    _init(self, expression, expression_attribute_names, expression_attribute_values, item, table)
    key = _passed_key(expression, expression_attribute_names, table)
    if _PASSED.get(key) is expression:
        self.processors = [p for p in self.processors if not isinstance(p, _PURE)]
    else:
        self._flashsale_source = (key, expression)  # type: ignore[attr-defined]


def validate(self: UpdateExpressionValidator) -> Any:
    """moto's; a tree that passed every check is remembered as passed."""
    validated = _validate(self)
    source = self.__dict__.pop("_flashsale_source", None)
    if source is not None:
        if len(_PASSED) >= CACHED:
            _PASSED.clear()
        _PASSED[source[0]] = source[1]
    return validated


def patches() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for each of moto's parts this replaces."""
    return [
        (UpdateExpressionParser, "make", classmethod(make)),
        (DepthFirstTraverser, "traverse", traverse),
        (Node, "__deepcopy__", node_copy),
        (UpdateExpressionValidator, "__init__", validator_init),
        (UpdateExpressionValidator, "validate", validate),
    ]


def install(version: str | None = None) -> None:
    """Route moto's update-expression parsing through the cache, its walks and
    copies through the faster ones (moto 5.2.5: another is refused, its
    parser may keep state in the tree, its traverser may change)."""
    moto_pin.require(
        "local/fast_expressions.py", f"relies on moto {MOTO_VERSION}'s copy-before-bind", version
    )
    for owner, name, replacement in patches():
        setattr(owner, name, replacement)
