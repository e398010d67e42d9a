import torch
import torch.nn as nn


def h0():
    return nn.Linear(2, 2)


def h1():
    h0()
    h0()
    h0()
    h0()
    h0()
    h0()
    h0()
    h0()


def h2():
    h1()
    h1()
    h1()
    h1()
    h1()
    h1()
    h1()
    h1()


def h3():
    h2()
    h2()
    h2()
    h2()
    h2()
    h2()
    h2()
    h2()


def h4():
    h3()
    h3()
    h3()
    h3()
    h3()
    h3()
    h3()
    h3()


def h5():
    h4()
    h4()
    h4()
    h4()
    h4()
    h4()
    h4()
    h4()


def h6():
    h5()
    h5()
    h5()
    h5()
    h5()
    h5()
    h5()
    h5()


def h7():
    h6()
    h6()
    h6()
    h6()
    h6()
    h6()
    h6()
    h6()


h7()
