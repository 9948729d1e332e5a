# expect: memory
# materialising an endless iterator
import itertools
def solution():
    return list(itertools.count())
