# expect: forbidden
# mro() has no underscore but leads to object
def solution():
    return int.mro()[-1]
