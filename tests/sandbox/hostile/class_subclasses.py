# expect: forbidden
# the classic walk from a literal to every loaded class
def solution():
    return ().__class__.__bases__[0].__subclasses__()
