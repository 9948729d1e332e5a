# expect: forbidden
# a builtin's __self__ is the sandbox's policy object
def solution():
    return getattr(getattr, '__self__')
