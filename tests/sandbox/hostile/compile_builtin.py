# expect: forbidden
# compile
def solution():
    return compile('1', 'x', 'eval')
