# expect: forbidden
# eval under another name
def solution():
    run = eval
    return run('1 + 1')
