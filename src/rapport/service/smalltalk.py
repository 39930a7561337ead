"""Small talk: greetings, thanks, goodbyes, laughter, "ok", "are you a robot", chit-chat and
insults get a short reply and never a ticket.

A fixed pattern list (``bot._SMALLTALK_KINDS``) catches the common forms exactly; everything else
short goes to a classifier over character 1–3-grams (scikit-learn, fitted once per process in a
few milliseconds from the examples below), so "早安", "thank u" or "hi, anyone there?" are
recognised without listing every spelling. Its negatives are the articles' titles and question
variants and short shop words (退货, refund, 发票) — messages that must reach the knowledge base.
It only judges short messages: a long message with a greeting in it is a question.
"""

from __future__ import annotations

import re
import threading
from typing import Any


def _listed(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


# Examples per kind, written for the classifier (not taken from any labelled question set).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "greeting": _listed(
        "你好,您好,你好呀,您好呀,在吗,在不在,在么,有人吗,有人在吗,哈喽,嗨,嗨嗨,喂,喂喂,早,早安,早上好,上午好,"
        "中午好,下午好,晚上好,大家好,客服你好,亲,亲在吗,hi,hello,hey,hiya,yo,howdy,hi there,hello there,"
        "hey there,hi hi,morning,good morning,good afternoon,good evening,anyone there,is anyone there,"
        "hello anyone,hey you,hi bot,greetings,hallo,hellooo,heyy,gday,g day,hey hey,hi again,hello again"
    ),
    "thanks": _listed(
        "谢谢,谢谢你,谢谢您,谢啦,谢了,多谢,感谢,非常感谢,太感谢了,辛苦了,辛苦啦,麻烦你了,谢谢亲,thanks,"
        "thank you,thx,ty,thank u,thanks a lot,thanks so much,many thanks,cheers,much appreciated,"
        "appreciate it,thank you very much,thanks mate,ta,thanx,tks"
    ),
    "bye": _listed(
        "再见,拜拜,拜,晚安,回头见,下次见,先这样,我走了,88,bye,goodbye,bye bye,byebye,see you,see ya,later,"
        "good night,gotta go,have a nice day,take care,cya,ciao,bye for now,bye then,talk later,先走了,下次聊,拜了"
    ),
    "bot": _listed(
        "你是谁,你是机器人吗,你是真人吗,你是人还是机器,你是ai吗,你叫什么,你叫什么名字,你是人工智能吗,机器人,"
        "是机器人吗,are you a bot,are you a robot,are you human,are you real,who are you,what are you,"
        "what is your name,whats your name,are you a person,are you ai,is this a bot,am i talking to a robot"
    ),
    "chitchat": _listed(
        "讲个笑话,给我讲个故事,写首诗,唱首歌,你几岁,你多大了,你吃饭了吗,今天过得怎么样,你好吗,你喜欢什么,"
        "我好无聊,陪我聊聊天,tell me a joke,write me a poem,sing a song,how are you,how old are you,whats up,"
        "how is it going,i am bored,do you like me,talk to me,are you happy,编个段子,讲个段子,说个笑话,来首诗,"
        "write a haiku,write me a story,tell me a story,make me laugh"
    ),
    "insult": _listed(
        "笨蛋,傻瓜,你好笨,你好笨啊,你真笨,笨死了,太笨了,垃圾,没用,你没用,真垃圾,蠢,智障,废物,stupid,"
        "you are stupid,useless,"
        "you are useless,dumb bot,idiot,you suck,this is useless,terrible bot"
    ),
    "ack": _listed(
        "好的,好,好滴,好哒,好嘞,嗯,嗯嗯,哦,哦哦,噢,行,可以,明白,明白了,知道了,收到,了解,懂了,没问题,没事了,"
        "没有了,就这些,好吧,哈哈,哈哈哈,呵呵,嘿嘿,真棒,太棒了,不错,厉害,赞,ok,okay,okey,k,kk,sure,fine,alright,"
        "got it,i see,understood,cool,great,nice,awesome,perfect,good,lol,haha,hahaha,lmao,no problem,"
        "thats all,nothing else,nope,yes,yep,👍,😊,😂,🙏,👌,❤️"
    ),
}
# Short messages that are about the shop or plainly out of scope: the classifier's "none" class,
# besides the articles' titles and question variants.
NOT_SMALLTALK = _listed(
    "退货,退款,换货,发货,快递,物流,包裹,发票,积分,优惠券,会员,等级,门店,地址,取消,订单,支付,付款,手机号,短信,"
    "退订,破损,尺码,运费,到账,单号,几点开门,营业时间,能退吗,怎么退,多久,储值卡,礼品卡,天气,日本,电脑,机票,"
    "比特币,股票,工作,招聘,今天几号,现在几点,refund,return,exchange,shipping,delivery,parcel,tracking,invoice,"
    "fapiao,points,coupon,voucher,membership,level,store,hours,address,cancel,order,payment,phone,number,"
    "unsubscribe,broken,damaged,size,weather,japan,bitcoin,laptop,job,flights,hiring,where is my order,"
    "when will it ship,how long for a refund,can i return it,discount code,opening hours,gift card,stock price,"
    "what time is it,what day is it today"
)
SHORT_CHARACTERS = 16  # a longer message is a question, even with a greeting in it
SHORT_WORDS = 8
CONFIDENT = 0.75  # the classifier's probability for a small-talk kind before the bot replies in kind
_PUNCTUATION = re.compile(r"[\s,.!?;:~'\"，。！？；：、…～—\-()（）【】]+")
_lock = threading.Lock()
_model: Any = None


def normalised(text: str) -> str:
    return _PUNCTUATION.sub(" ", text.lower()).strip()


def is_short(text: str) -> bool:
    """At most ``SHORT_CHARACTERS`` non-Latin characters and ``SHORT_WORDS`` words."""
    wide = sum(not ch.isascii() for ch in text if not ch.isspace())
    return wide <= SHORT_CHARACTERS and len(text.split()) <= SHORT_WORDS


def _training_set() -> tuple[list[str], list[str]]:
    from rapport.service.seed import QUESTION_VARIANTS, TOPICS

    texts: list[str] = []
    labels: list[str] = []
    for kind, examples in EXAMPLES.items():
        texts.extend(normalised(e) for e in examples)
        labels.extend([kind] * len(examples))
    shop = list(NOT_SMALLTALK)
    for zh, en in QUESTION_VARIANTS.values():
        shop.extend((*zh, *en))
    for topic in TOPICS:
        shop.extend((topic.zh[0], topic.en[0]))
    texts.extend(normalised(s) for s in shop)
    labels.extend(["none"] * len(shop))
    return texts, labels


def _classifier() -> Any:
    global _model
    if _model is None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        with _lock:
            if _model is None:
                texts, labels = _training_set()
                model = make_pipeline(
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
                    # saga fits in well under a second; lbfgs took several at this C
                    LogisticRegression(C=10.0, solver="saga", max_iter=3000, class_weight="balanced"),
                )
                _model = model.fit(texts, labels)
    return _model


def classify(question: str) -> str | None:
    """The small-talk kind of a short message by the classifier, or None (a question, or unsure)."""
    text = normalised(question)
    if not text or not is_short(text):
        return None
    model = _classifier()
    probabilities = model.predict_proba([text])[0]
    best = int(probabilities.argmax())
    kind = str(model.classes_[best])
    return kind if kind != "none" and probabilities[best] >= CONFIDENT else None
