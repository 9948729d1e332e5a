# expect: forbidden
# f-string fields are checked like code
def solution():
    return f'{(1).__class__}'
