# expect: forbidden
# format fields walk attributes
def solution():
    return '{0.__class__.__mro__}'.format(1)
