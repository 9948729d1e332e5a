# expect: forbidden
# eval
def solution():
    return eval('1 + 1')
