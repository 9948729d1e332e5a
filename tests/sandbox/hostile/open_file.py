# expect: forbidden
# reading a file
def solution():
    return open('/etc/passwd').read()
