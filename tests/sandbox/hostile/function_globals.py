# expect: forbidden
# a function's globals hold the real builtins in naive setups
def solution():
    return getattr(solution, '__glo' + 'bals__')
