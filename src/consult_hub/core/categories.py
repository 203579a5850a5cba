"""The five topic categories shared by events and problems."""

from consult_hub.core.db import LabelledEnum
from consult_hub.core.i18n import lazy_gettext as _l


class Category(LabelledEnum):
    ECONOMY = "economy", _l("经济建设")
    POLITICS = "politics", _l("政治建设")
    CULTURE = "culture", _l("文化建设")
    SOCIETY = "society", _l("社会建设")
    ECOLOGY = "ecology", _l("生态文明建设")
