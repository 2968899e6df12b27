"""Recurrent network models: one interface, continuous-time and discrete."""

from ._base import AbstractContinuousRNN as AbstractContinuousRNN
from ._base import AbstractDiscreteRNN as AbstractDiscreteRNN
from ._base import AbstractRNN as AbstractRNN
from ._ctrnn import CTRNN as CTRNN
from ._gru import GRU as GRU
from ._init import INITS as INITS
from ._leaky import LeakyRateRNN as LeakyRateRNN
from ._lowrank import LowRankRNN as LowRankRNN
from ._lstm import LSTM as LSTM
from ._vanilla import VanillaRNN as VanillaRNN
