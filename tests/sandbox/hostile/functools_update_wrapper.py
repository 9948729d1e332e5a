# expect: forbidden
# update_wrapper copies attributes by name
import functools
def solution():
    return functools.update_wrapper
