# expect: forbidden
# type() builds classes with any attribute names
def solution():
    return type('X', (), {'__getattr__': None})
