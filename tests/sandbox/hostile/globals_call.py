# expect: forbidden
# globals()
def solution():
    return globals()
