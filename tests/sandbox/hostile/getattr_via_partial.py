# expect: forbidden
# the guarded getattr behind functools.partial
import functools
def solution():
    return functools.partial(getattr, (), '__class__')()
