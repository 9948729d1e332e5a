# expect: forbidden
# writing internals
def solution():
    setattr(solution, '__code__', None)
