# expect: timeout
# printing without end
def solution():
    while True:
        print('flood' * 1000)
