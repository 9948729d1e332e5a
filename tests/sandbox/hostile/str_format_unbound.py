# expect: forbidden
# str.format called on the class
def solution():
    return str.format('{0.__class__}', 1)
