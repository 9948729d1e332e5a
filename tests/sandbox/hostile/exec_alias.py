# expect: forbidden
# exec under another name
def solution():
    run = exec
    run('x = 1')
