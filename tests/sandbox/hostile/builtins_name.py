# expect: forbidden
# the builtins namespace by name
def solution():
    return __builtins__
