# expect: forbidden
# the guarded getattr behind map
def solution():
    return list(map(getattr, [()], ['__class__']))
