# expect: forbidden
# the same walk with names built at run time
def solution():
    cls = getattr((), '_' + '_class__')
    return getattr(cls, '__subclasses__')()
