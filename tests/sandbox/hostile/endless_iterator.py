# expect: memory|timeout
# materialising an endless iterator (under heavy host load the wall clock may fire before the memory limit)
import itertools
def solution():
    return list(itertools.count())
