# expect: forbidden
# format_map walks attributes too
def solution():
    return '{x.__class__}'.format_map({'x': 1})
