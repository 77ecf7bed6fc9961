"""The op table's test rows, one module per op family: each public function, its numpy
reference and argument shapes. ``check_reference`` runs every row on contiguous and
strided data, with static and with symbolic dimensions."""

from tests.cases import conv, elementwise, image, indexing, nn, random, reduction, scan, shape

CASES = [
    *elementwise.CASES,
    *reduction.CASES,
    *shape.CASES,
    *indexing.CASES,
    *nn.CASES,
    *conv.CASES,
    *image.CASES,
    *random.CASES,
    *scan.CASES,
]
