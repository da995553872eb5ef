"""Chinese names for the demo district: people, compounds, communities, streets, shops and cars.

Surnames lean towards those common in Jiaozhou (Shandong), including local ones such as
法, 逄 and 匡. Given-name characters follow the fashions of each generation, so an
88-year-old is 王桂兰 and a schoolchild 王梓涵.
"""

from __future__ import annotations

import itertools
import random

# (surname, relative weight)
SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 90), ("张", 80), ("李", 78), ("刘", 70), ("孙", 40), ("杨", 30), ("赵", 30), ("徐", 30),
    ("于", 30), ("姜", 28), ("高", 28), ("陈", 22), ("宋", 20), ("郭", 20), ("马", 20), ("韩", 18),
    ("崔", 18), ("法", 12), ("冷", 10), ("逄", 10), ("匡", 8), ("曲", 10), ("孟", 10), ("薛", 10),
    ("臧", 8), ("周", 15), ("吴", 10), ("林", 10), ("丁", 10), ("董", 10), ("袁", 8), ("宫", 8),
    ("修", 6), ("栾", 6), ("隋", 6), ("辛", 6), ("邢", 6), ("綦", 5), ("纪", 6), ("毛", 5),
    ("管", 6), ("傅", 6), ("范", 6), ("梁", 6), ("秦", 5), ("吕", 6), ("苏", 5), ("潘", 5),
    ("贾", 5), ("田", 6), ("鲁", 5), ("牟", 5), ("万", 4), ("宁", 4), ("战", 4), ("矫", 3),
    ("仇", 3), ("迟", 4), ("尹", 4), ("邵", 4), ("程", 4), ("胡", 6), ("朱", 6), ("黄", 6),
)
_SURNAME_CHARS = [s for s, _ in SURNAMES]
_SURNAME_CUM = list(itertools.accumulate(w for _, w in SURNAMES))

# Given-name characters by generation (born before 1960, 1960-1989, 1990 on) and sex.
GIVEN: dict[tuple[str, str], str] = {
    ("old", "m"): "建国德福保文明志永长发玉庆本树金宝学成祥军华正家兴忠林山海洪顺荣田胜利富贵春",
    ("old", "f"): "秀兰英桂芳凤玉珍淑梅翠花琴云霞荣春爱香美素月娥菊莲敏芝清秋华玲",
    ("mid", "m"): "伟军勇强磊涛斌峰刚杰鹏亮辉波超明东海平新宁飞健龙彬振宏晓永志建国成",
    ("mid", "f"): "静丽敏燕红霞娟艳玲芳萍雪梅慧琳莉婷倩颖洁晓华娜丹琳青秀",
    ("young", "m"): "浩宇轩子涵博俊文一泽睿辰昊晨瑞哲凯阳铭嘉航然逸锦皓宸煜铭奕鑫",
    ("young", "f"): "欣怡诗雨涵梓萱可馨佳琪悦思彤语瑶雅晴梦若妍一安沐依诺欢",
}
# Share of two-character given names per generation (single-character names peaked in the 1980s).
TWO_CHAR_SHARE = {"old": 0.6, "mid": 0.5, "young": 0.8}

ETHNICITIES: tuple[tuple[str, int], ...] = (
    ("汉族", 975), ("回族", 10), ("满族", 7), ("朝鲜族", 5), ("蒙古族", 3),
)


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_CHARS, cum_weights=_SURNAME_CUM)[0]


def generation(birth_year: int) -> str:
    if birth_year < 1960:
        return "old"
    return "mid" if birth_year < 1990 else "young"


def given_name(rng: random.Random, *, male: bool, birth_year: int) -> str:
    gen = generation(birth_year)
    chars = GIVEN[(gen, "m" if male else "f")]
    if rng.random() < TWO_CHAR_SHARE[gen]:
        first, second = rng.choice(chars), rng.choice(chars)
        if first == second and gen != "young":  # 叠字 names (婷婷) are mostly a young fashion
            second = rng.choice(chars)
        return first + second
    return rng.choice(chars)


def person_name(rng: random.Random, *, male: bool, birth_year: int, family_name: str | None = None) -> str:
    return (family_name or surname(rng)) + given_name(rng, male=male, birth_year=birth_year)


def ethnicity(rng: random.Random) -> str:
    names = [e for e, _ in ETHNICITIES]
    return rng.choices(names, weights=[w for _, w in ETHNICITIES])[0]


# Compound names: a place or wish word plus a housing word (阳光花园, 福州路小区).
COMPOUND_PREFIXES = (
    "阳光", "金色", "绿城", "幸福", "和谐", "锦绣", "翠苑", "福寿", "康宁", "安居", "丽景", "春晖",
    "华府", "泰和", "瑞祥", "怡景", "青年", "兰亭", "东湖", "西湖", "南苑", "北苑", "少海", "芝兰",
    "福州路", "广州北路", "郑州路", "扬州路", "常州路", "兰州路", "杭州路", "徐州路", "湖州路",
    "温州路", "苏州路", "胶州湾", "海湾", "云海", "星河", "桂园", "梧桐", "银杏", "玉兰", "海棠",
    "文化", "教师", "供电", "粮食局", "纺织", "机械厂", "化工", "邮电", "商业", "中心",
)
COMPOUND_SUFFIXES = ("花园", "小区", "新村", "家园", "苑", "名苑", "雅居", "公寓", "嘉园", "华庭")

# Community (社区) and street (街道) names for benchmark districts; the demo names its own.
COMMUNITY_PREFIXES = (
    "兴华", "新华", "云溪", "胶东", "龙泉", "惠民", "丰收", "育英", "广场", "中心", "南关", "北关",
    "东关", "西关", "常州", "扬州", "郑州", "福州", "兰州", "杭州", "太平", "振兴", "团结", "建设",
    "和平", "光明", "朝阳", "友谊", "青年", "永安", "长城", "黄河", "泰山", "崂山", "金沙", "银海",
)
STREET_NAMES = (
    "三里河", "胶东", "胶北", "胶西", "九龙", "胶莱", "李哥庄", "铺集", "里岔", "洋河", "营海", "南关",
)

SHOPS = (
    ("便利店", "日用百货、预包装食品零售"),
    ("理发店", "理发服务"),
    ("大药房", "药品零售、医疗器械销售"),
    ("洗衣店", "洗染服务"),
    ("水果店", "新鲜水果零售"),
    ("早餐店", "餐饮服务"),
    ("快递驿站", "快递收寄代理服务"),
    ("五金店", "五金产品零售"),
    ("维修部", "家用电器修理"),
    ("面馆", "餐饮服务"),
)

CAR_BRANDS = ("大众", "丰田", "本田", "日产", "别克", "现代", "起亚", "福特", "雪佛兰", "奥迪", "宝马",
              "奔驰", "长安", "吉利", "哈弗", "奇瑞", "五菱", "荣威", "传祺", "红旗")
NEW_ENERGY_BRANDS = ("比亚迪", "特斯拉", "蔚来", "理想", "小鹏", "五菱宏光MINI", "埃安", "极氪", "问界",
                     "零跑", "哪吒", "比亚迪", "比亚迪")
