"""The op table's test rows, one module per op family: each public function, its numpy
reference and argument shapes. ``check_reference`` runs every row on contiguous and
strided data, with static and with symbolic dimensions."""

from tests.cases import elementwise, indexing, nn, reduction, shape

CASES = [*elementwise.CASES, *reduction.CASES, *shape.CASES, *indexing.CASES, *nn.CASES]
