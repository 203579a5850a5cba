"""The five topic categories shared by events and problems."""

from consult_hub.core.db import LabelledEnum


class Category(LabelledEnum):
    ECONOMY = "economy", "经济建设"
    POLITICS = "politics", "政治建设"
    CULTURE = "culture", "文化建设"
    SOCIETY = "society", "社会建设"
    ECOLOGY = "ecology", "生态文明建设"
