"""Tests that run processes under mpiexec (the ``distributed`` extra): data-parallel
equivalence, faults, checkpoints, the graph API. Each test launches one of this
package's scripts with ``mpiexec -n N`` and a timeout; without mpi4py or mpiexec they skip."""
