"""Turns that need no tool: small talk, and requests outside what a tiny offline model does well (general
knowledge, poems, advice, translation, news; Chinese ones partly from CMMLU), answered honestly and without a
tool call so that the model does not learn to invent calls."""
from __future__ import annotations

import csv
import re
import unicodedata
import zlib
from functools import cache

from puyu.training.data.phrasing import HELDOUT_PARTS, Parts, Phraser, noisy

from puyu.core.config import shared_data_dir

ASK_CHAT = {
    ("greet", "en"): Parts("chat.greet.en", ["hi", "Hello!", "hey", "Hi there", "good evening", "hello puyu", "Hey, how's it going?",
                                              "yo", "Hi!",
        "Good afternoon.", "Hey puyu!", "Hello there.", "Hey there!", "What's up?", "sup", "Good evening, puyu.",
        "Hi, nice to meet you.", "Hello again!", "hey buddy", "Yo puyu, what's up?", "HELLO",
        "Hi puyu, long time no see.", "Good day to you.", "Hello, is anyone there?",
        "Hi friend, hope you're well.", "hey, just saying hi", "Hi, I'm back.",
        "Good afternoon, puyu. Nice to see you."], ["Greetings!", "Howdy", "Hiya!", "Morning!", "hello hello"]),
    ("greet", "zh"): Parts("chat.greet.zh", ["你好", "您好！", "嗨", "哈喽", "你好呀", "早上好", "晚上好",
        "下午好！", "中午好", "早啊！", "早安", "午安", "嗨，你好！", "你好，很高兴认识你。", "浦语，下午好！", "浦语，晚上好呀", "Hi，浦语", "您好，打扰一下。",
        "好久不见！", "你好，小助手！", "又见面啦！", "早上好呀，今天也请多关照"], ["在吗？", "哈啰，浦语", "喂，你好", "你好啊浦语", "嘿，在不在"]),
    ("who", "en"): Parts("chat.who.en", ["Who are you?", "What's your name?", "what are you", "Are you ChatGPT?",
                                          "Tell me about yourself.", "Are you a human?", "Which model are you?",
        "What should I call you?", "Do you have a name?", "What kind of assistant are you?", "Is your name puyu?",
        "Are you puyu?", "who r u", "Who exactly are you?", "What is puyu?", "Tell me a bit about you.",
        "Can you tell me your name?", "Are you Siri?", "Are you a large language model?",
        "Are you the same as GPT-4?", "Describe yourself in one sentence.", "What model is running here?",
        "Hey, what's your name again?"],
                         ["Introduce yourself, please.", "Who am I talking to?", "Who built you and what are you?", "Are you a bot?"]),
    ("who", "zh"): Parts("chat.who.zh", ["你是谁？", "你叫什么名字？", "介绍一下你自己", "你是ChatGPT吗？", "你是人吗？", "你是什么模型？",
        "你叫啥？", "怎么称呼你？", "你的名字是什么？", "你是浦语吗？", "浦语是什么？", "你是谁开发的？", "你是真人吗？", "你是大模型吗？", "你是Siri吗？", "说说你是谁吧",
        "你是个什么样的助手？", "请问您是？", "你和ChatGPT有什么区别？", "能告诉我你的名字吗？"],
                         ["请做个自我介绍。", "我在和谁聊天？", "你到底是什么？", "你是机器人吗？"]),
    ("can", "en"): Parts("chat.can.en", ["What can you do?", "How can you help me?", "what are your skills",
                                          "What tools do you have?", "What are you good at?",
        "What are your capabilities?", "What do you do?", "Show me what you can do.", "What features do you have?",
        "What can puyu do?", "What's your specialty?", "Give me a list of your functions.", "What are you for?",
        "What's your purpose?", "What are you capable of?", "How do I use you?", "What can I use you for?",
        "Do you have any special powers?", "What do you know how to do?", "What services do you offer?",
        "what can u do", "So what exactly do you do?", "What are you designed for?"],
                         ["Which tasks can you handle?", "What kinds of things can I ask you?", "What are you able to help with?"]),
    ("can", "zh"): Parts("chat.can.zh", ["你能做什么？", "你有什么功能？", "你会些什么？", "你能帮我做什么？",
        "你有哪些能力？", "你是做什么用的？", "浦语能做什么？", "说说你的功能吧", "你可以用来做什么？", "你有什么用？", "你都能帮上什么忙？", "你能用哪些工具？", "你支持哪些操作？",
        "我可以怎么使用你？", "你能给我提供什么服务？", "你有什么技能？", "能说说你的能力范围吗？"], ["你擅长哪些事情？", "我能让你干点啥？", "你都会哪些本领？"]),
    ("thanks", "en"): Parts("chat.thanks.en", ["thanks", "Thank you!", "thx", "Thanks a lot!", "great, thank you",
                                                "Perfect, thanks.",
        "Thank you so much.", "Many thanks!", "ty", "tysm", "Thanks, puyu!",
        "Thank you very much, that's exactly what I needed.", "Awesome, thanks!", "Nice, thank you.",
        "Thanks for your time.", "Thank you kindly.", "Thanks a ton!", "Thanks a bunch.", "I owe you one.",
        "Got it, thanks.", "OK thanks!", "Thanks again!", "Wonderful. Thank you!", "I'm grateful, thank you.",
        "thank u"], ["Much obliged!", "Appreciate it.", "Cheers, that helped.", "Thanks, you rock!"]),
    ("thanks", "zh"): Parts("chat.thanks.zh", ["谢谢", "谢谢你！", "多谢", "太好了，谢谢", "感谢！",
        "非常感谢！", "谢谢浦语", "感谢你的帮助。", "多谢多谢", "好的，谢谢", "谢谢，明白了", "万分感谢！", "感激不尽", "谢谢您！", "好嘞，谢谢你", "收到，感谢！",
        "谢谢，这正是我要的", "真是帮了大忙，谢谢", "3Q", "谢谢，你真棒！"], ["辛苦了，谢谢！", "太感谢了！", "谢啦"]),
    ("bye", "en"): Parts("chat.bye.en", ["bye", "Goodbye!", "See you later.", "That's all for now, bye.", "good night",
        "See you!", "See ya.", "Farewell.", "Have a nice day!", "Bye bye!", "Good night, puyu.", "Gotta go.",
        "I have to go now. Goodbye!", "See you soon!", "Take care!", "Bye for now.", "Until next time!",
        "So long!", "cya", "ok bye", "I'm done for today. Goodbye.", "Goodbye, puyu!", "Have a great weekend!"],
                         ["Catch you later!", "Talk to you tomorrow.", "I'm off, bye!"]),
    ("bye", "zh"): Parts("chat.bye.zh", ["再见", "拜拜", "下次见！", "先这样吧，再见", "晚安",
        "再会", "拜拜啦", "下次再聊", "改天见", "今天就到这里，再见", "晚安，浦语", "好的，再见！", "就聊到这吧，拜拜", "祝你愉快，再见", "那我不打扰了，再见", "88",
        "有空再聊", "告辞", "后会有期", "再见啦，浦语"], ["回头见！", "明天聊", "我先走了，拜拜"]),
    ("how", "en"): Parts("chat.how.en", ["How are you?", "how are you doing today?", "Are you OK?", "How's your day?",
        "How do you feel?", "How are you feeling today?", "Are you well?", "How's life?", "How are you, puyu?",
        "Having a good day?", "You OK?", "How's your evening going?", "Feeling good today?", "How are you today?",
        "How is your week going?", "How do you do?", "Are you having a nice day, puyu?", "Are you tired?",
        "how r u", "How is life treating you?", "Is your day going well?"],
                         ["How are things with you?", "How have you been?", "You doing alright?"]),
    ("how", "zh"): Parts("chat.how.zh", ["你好吗？", "最近怎么样？", "今天过得好吗？",
        "你怎么样？", "你心情好吗？", "你累不累？", "今天心情怎么样？", "浦语，你好吗？", "你最近忙吗？", "一切都好吧？", "你开心吗？", "你感觉怎么样？", "今天顺利吗？",
        "你好不好呀？", "工作累不累？", "这几天心情不错吧？"], ["你今天状态如何？", "最近还好吗？", "你过得咋样？"]),
}
_CAPS = {"en": "I can do calculations in Python, convert units and currencies, solve equations, work with dates and "
               "statistics, read text and QR codes in images, edit images, draw plots and search your documents.",
         "zh": "我可以用 Python 计算、换算单位和货币、解方程、处理日期和统计，还能识别图片中的文字和二维码、编辑图片、画图以及搜索你的文档。"}
REPLY_CHAT = {
    ("greet", "en"): ["Hello! How can I help you?", "Hi! What can I do for you?", "Hello! I'm puyu. Need a calculation?"],
    ("greet", "zh"): ["你好！有什么可以帮你的？", "你好，我是浦语。需要算点什么吗？", "嗨！有什么需要帮忙的？"],
    ("who", "en"): ["I'm puyu, a small offline assistant. " + _CAPS["en"],
                    "My name is puyu. I'm a small model that runs offline and uses tools for math and files."],
    ("who", "zh"): ["我是浦语（puyu），一个离线运行的小助手。" + _CAPS["zh"], "我叫浦语，是一个离线小模型，擅长用工具做计算和处理文件。"],
    ("can", "en"): [_CAPS["en"], "Mostly math and tools: " + _CAPS["en"]],
    ("can", "zh"): [_CAPS["zh"], "主要是计算和工具：" + _CAPS["zh"]],
    ("thanks", "en"): ["You're welcome!", "Glad to help!", "Any time!"],
    ("thanks", "zh"): ["不客气！", "很高兴能帮上忙！", "随时为你效劳！"],
    ("bye", "en"): ["Goodbye!", "See you!", "Bye, have a nice day!"],
    ("bye", "zh"): ["再见！", "下次见！", "拜拜，祝你愉快！"],
    ("how", "en"): ["I'm fine, thanks! What can I do for you?", "All good here. How can I help?"],
    ("how", "zh"): ["我很好，谢谢！有什么需要帮忙的吗？", "挺好的，有什么可以帮你？"],
}


def chat_turn(ph: Phraser, rng, lang: str, kind: str | None = None) -> tuple[str, str, str]:
    """(kind, user text, reply)."""
    kind = kind or rng.choice(["greet", "greet", "who", "can", "thanks", "bye", "how"])
    user = noisy(ph(ASK_CHAT[(kind, lang)], key=True), rng, lang, rate=0.25)
    return kind, user, rng.choice(REPLY_CHAT[(kind, lang)])


# ---- out of scope ---------------------------------------------------------------------------------------

_FILL = {
    "en": {
        "country": ["France", "Japan", "Brazil", "Canada", "Kenya", "Australia", "Egypt", "Norway", "Peru", "Vietnam",
                    "Mexico", "Poland", "Thailand", "Chile", "Turkey"],
        "person": ["Shakespeare", "Marie Curie", "Confucius", "Napoleon", "Einstein", "Li Bai", "Cleopatra", "Gandhi",
                   "Mozart", "Ada Lovelace", "Genghis Khan", "Frida Kahlo"],
        "book": ["Hamlet", "Pride and Prejudice", "Dream of the Red Chamber", "War and Peace", "1984", "Don Quixote",
                 "The Odyssey", "Journey to the West"],
        "concept": ["photosynthesis", "black holes", "inflation", "democracy", "the theory of relativity",
                    "quantum computing", "machine learning", "blockchain", "the immune system", "climate change",
                    "the stock market", "evolution", "gravity", "the internet"],
        "event": ["the French Revolution", "World War I", "the fall of the Roman Empire", "the moon landing",
                  "the Industrial Revolution", "the Renaissance", "the Tang dynasty"],
        "topic": ["the sea", "autumn", "my cat", "the moon", "friendship", "rain", "coffee", "a city at night", "spring",
                  "mountains", "first love", "a lost umbrella", "the stars"],
        "goal": ["sleep better", "prepare for a job interview", "learn a new language", "deal with stress",
                 "make friends in a new city", "become a better writer", "stop procrastinating", "train for a marathon",
                 "talk to my boss about a raise"],
        "phrase": ["good morning", "where is the train station", "I love you", "nice to meet you", "how much is this"],
        "language": ["French", "Spanish", "German", "Japanese", "Korean", "Italian"],
    },
    "zh": {
        "country": ["法国", "日本", "巴西", "加拿大", "肯尼亚", "澳大利亚", "埃及", "挪威", "秘鲁", "越南", "墨西哥", "波兰"],
        "person": ["李白", "孔子", "居里夫人", "爱因斯坦", "拿破仑", "苏轼", "秦始皇", "莎士比亚", "鲁迅", "成吉思汗"],
        "book": ["红楼梦", "西游记", "三国演义", "水浒传", "哈姆雷特", "战争与和平", "呐喊"],
        "concept": ["光合作用", "黑洞", "通货膨胀", "相对论", "量子计算", "机器学习", "区块链", "免疫系统", "气候变化", "进化论"],
        "event": ["辛亥革命", "第一次世界大战", "罗马帝国的衰亡", "登月", "工业革命", "文艺复兴", "唐朝的兴衰"],
        "topic": ["大海", "秋天", "我的猫", "月亮", "友谊", "下雨天", "咖啡", "夜晚的城市", "春天", "高山", "故乡"],
        "goal": ["睡得更好", "准备面试", "学好一门外语", "缓解压力", "在新城市交朋友", "提高写作水平", "戒掉拖延", "备战马拉松"],
        "phrase": ["早上好", "火车站在哪里", "我爱你", "很高兴认识你", "这个多少钱"],
        "language": ["英文", "法语", "日语", "韩语", "德语", "西班牙语"],
    },
}
ASK_OOS = {
    ("knowledge", "en"): Parts("oos.knowledge.en", [
        "What is the capital of {country}?", "Who was {person}?", "Who wrote {book}?", "Explain {concept}.",
        "What is {concept}?", "Tell me about {event}.", "Why did {event} happen?", "How does {concept} work?",
        "What is {person} famous for?",
        "Where is {country} located?", "What language is spoken in {country}?", "What is {book} about?",
        "When did {event} take place?", "Describe {concept} in simple terms.", "What did {person} achieve?",
        "What is the population of {country}?", "List a few facts about {person}."],
        ["Give me a short history of {event}.", "Can you teach me about {concept}?", "I'm curious who {person} was."]),
    ("knowledge", "zh"): Parts("oos.knowledge.zh", [
        "{country}的首都是哪里？", "{person}是谁？", "《{book}》的作者是谁？", "解释一下{concept}", "什么是{concept}？",
        "讲讲{event}", "{event}为什么会发生？", "{person}有什么成就？",
        "{country}在哪个大洲？", "{country}的官方语言是什么？", "《{book}》讲了什么内容？", "{event}发生在什么时候？", "{concept}是怎么回事？",
        "{person}是哪个时代的人？", "用通俗的话说说{concept}的原理", "{country}有多少人口？"],
        ["简单介绍一下{event}的历史。", "给我科普一下{concept}吧。"]),
    ("creative", "en"): Parts("oos.creative.en", [
        "Write a poem about {topic}.", "Tell me a story about {topic}.", "Write a haiku about {topic}.",
        "Compose a song about {topic}.", "Can you write a short essay about {topic}?", "write me a limerick about {topic}",
        "Write a short story about {topic}.", "Could you write song lyrics about {topic}?",
        "I need a sonnet about {topic}.", "Write the opening paragraph of a novel about {topic}.",
        "Come up with a slogan about {topic}.", "Write a blog post about {topic}.",
        "Write a speech about {topic}.", "Write a diary entry about {topic}.", "Tell me a joke about {topic}.",
        "Please write a short play about {topic}."],
        ["Draft some verses on {topic}.", "Make up a fairy tale about {topic}."]),
    ("creative", "zh"): Parts("oos.creative.zh", [
        "写一首关于{topic}的诗", "讲个关于{topic}的故事", "帮我写一篇关于{topic}的作文", "以{topic}为题写一段散文", "给我写首{topic}的歌词",
        "写一段关于{topic}的小说开头", "以{topic}为主题写一首现代诗", "帮我写个关于{topic}的笑话", "写一篇以{topic}为主题的日记", "围绕{topic}想一句广告语",
        "写一段描写{topic}的文字", "以{topic}为题写一篇演讲稿", "能写一首赞美{topic}的诗吗？"],
        ["为{topic}作一首七言绝句。", "编一个关于{topic}的童话。"]),
    ("advice", "en"): Parts("oos.advice.en", [
        "How can I {goal}?", "Give me tips to {goal}.", "What's the best way to {goal}?", "I want to {goal}. Any advice?",
        "Should I quit my job to travel?", "What should I eat for dinner?",
        "What steps should I take to {goal}?", "I'm struggling to {goal}. What should I do?",
        "Suggest a plan so I can {goal}.", "What habits help people {goal}?", "Is there a trick to {goal}?",
        "My friend wants to {goal}. What would you suggest?", "Should I buy a house or keep renting?",
        "Which university major should I choose?"],
        ["Coach me on how to {goal}.", "Any wisdom on how to {goal}?"]),
    ("advice", "zh"): Parts("oos.advice.zh", [
        "怎样才能{goal}？", "给我一些{goal}的建议", "我想{goal}，有什么办法？", "我该不该辞职去旅行？", "晚饭吃什么好？",
        "想{goal}的话，要从哪里开始？", "有没有{goal}的好方法？", "帮我制定一个{goal}的计划", "{goal}有什么诀窍吗？", "我朋友想{goal}，你有什么建议？",
        "要{goal}，我应该注意些什么？", "我该买房还是租房？", "大学选什么专业比较好？"],
        ["教教我如何{goal}。"]),
    ("translate", "en"): Parts("oos.translate.en", [
        "Translate '{phrase}' into {language}.", "How do you say '{phrase}' in {language}?", "'{phrase}' in {language}?",
        "What is '{phrase}' in {language}?", "Please translate \"{phrase}\" to {language}.",
        "How would a native speaker say '{phrase}' in {language}?", "Can you put '{phrase}' into {language}?",
        "I need '{phrase}' translated into {language}.", "What's the {language} for '{phrase}'?",
        "Say '{phrase}' in {language}.", "How do I write '{phrase}' in {language}?",
        "Give me the {language} translation of '{phrase}'.",
        "I'm traveling soon and need to say '{phrase}' in {language}. How?", "Translate to {language}: {phrase}"],
        ["Render '{phrase}' in {language} for me."]),
    ("translate", "zh"): Parts("oos.translate.zh", ["把“{phrase}”翻译成{language}", "“{phrase}”用{language}怎么说？",
        "“{phrase}”的{language}是什么？", "帮我把“{phrase}”翻成{language}", "{language}里“{phrase}”怎么讲？",
        "用{language}说一下“{phrase}”", "“{phrase}”翻译成{language}怎么写？", "请问“{phrase}”在{language}中怎么表达？",
        "我要出国旅游，想知道“{phrase}”用{language}怎么讲", "给我“{phrase}”的{language}翻译", "翻译成{language}：{phrase}"],
                               ["请将“{phrase}”译为{language}。"]),
    ("news", "en"): Parts("oos.news.en", [
        "What's the weather like today?", "What's the latest news?", "Who won the football match yesterday?",
        "What is Apple's stock price right now?", "Is it going to rain tomorrow?", "What's trending today?",
        "What happened in the world today?", "Is there any breaking news?", "Will it snow this weekend?",
        "What's the temperature outside right now?", "Who won the election?",
        "What's the score of tonight's game?", "How is the stock market doing today?",
        "What movies are showing in cinemas now?", "What's the traffic like right now?"],
        ["Any headlines this morning?"]),
    ("news", "zh"): Parts("oos.news.zh", ["今天天气怎么样？", "最近有什么新闻？", "昨天的足球比赛谁赢了？", "现在的股价是多少？", "明天会下雨吗？",
        "现在外面多少度？", "这周末会下雪吗？", "今天发生了什么大事？", "有什么最新消息吗？", "这次选举谁赢了？", "今晚比赛的比分是多少？", "今天股市行情怎么样？", "现在路上堵不堵？",
        "最近有什么新电影上映？"],
                          ["今天有什么热点？"]),
}
_LIMIT = {
    ("knowledge", "en"): ["I'm a small offline model, so I can't answer general-knowledge questions reliably.",
                          "General knowledge is beyond what this small offline model knows well."],
    ("creative", "en"): ["Writing poems and stories is beyond this small offline model.",
                         "I'm a small offline model and can't write good creative text."],
    ("advice", "en"): ["I'm too small a model to give good advice on this.",
                       "This small offline model can't give reliable advice."],
    ("translate", "en"): ["This small offline model can't translate reliably."],
    ("news", "en"): ["I run offline without internet access, so I don't know current news, weather or prices."],
    ("knowledge", "zh"): ["我是一个离线小模型，无法可靠地回答常识类问题。", "这类知识问题超出了我这个离线小模型的能力。"],
    ("creative", "zh"): ["写诗和写故事超出了我这个离线小模型的能力。", "我是离线小模型，写不好创作类内容。"],
    ("advice", "zh"): ["我这个小模型给不出可靠的建议。", "这类建议超出了离线小模型的能力。"],
    ("translate", "zh"): ["我这个离线小模型不能可靠地翻译。"],
    ("news", "zh"): ["我离线运行、无法上网，不知道最新的新闻、天气或价格。"],
}
_SORRY = {"en": ["", "", "Sorry. ", "Sorry, I can't help much with that. ", "I'm afraid not. "],
          "zh": ["", "", "抱歉，", "不好意思，"]}
_CAN = {"en": [("I can help with calculations, equations, unit conversions, dates and statistics, and with tools "
                "such as OCR and document search."), "I'm built for math, Python and tools.", ""],
        "zh": ["我擅长计算、解方程、单位换算、日期和统计，以及 OCR、文档搜索等工具。", "我主要负责计算、Python 和工具调用。", ""]}
_LARGER = {"en": ["For questions like this, connect a larger model in the settings.",
                  "You can connect a larger model in the settings for this kind of request.",
                  "A larger model can be connected in the settings for this."],
           "zh": ["这类问题可以在设置中接入更大的模型。", "如需回答这类问题，请在设置里连接一个更大的模型。", "可以在设置中切换到更大的模型来处理这类请求。"]}


def oos_reply(rng, lang: str, kind: str) -> str:
    sep = " " if lang == "en" else ""
    pieces = [rng.choice(_SORRY[lang]) + rng.choice(_LIMIT[(kind, lang)]), rng.choice(_CAN[lang]),
              rng.choice(_LARGER[lang])]
    return sep.join(p for p in pieces if p)


_RADICALS = re.compile("[\u2e80-\u2fdf]")


def heldout_subject(subject: str) -> bool:
    return zlib.crc32(subject.encode()) % 5 == 0


@cache
def cmmlu_questions() -> dict[str, list[tuple[str, list[str]]]]:
    """CMMLU test questions by subject, {subject: [(question, options)]}; {} when the shared data is absent.
    A few files write characters as Kangxi radicals (⻛ for 风): NFKC maps them back; what it cannot map is skipped."""
    root = shared_data_dir() / "cmmlu" / "test"
    out: dict[str, list] = {}
    if not root.is_dir():
        return out
    for path in sorted(root.glob("*.csv")):
        rows = []
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                fixed = "".join(unicodedata.normalize("NFKC", c) if _RADICALS.match(c) else c for c in row["Question"])
                opts = [row.get(k, "") for k in "ABCD"]
                if _RADICALS.search(fixed) or len(fixed) > 160 or not fixed.strip():
                    continue
                rows.append((fixed.strip(), opts))
        out[path.stem] = rows
        if heldout_subject(path.stem):
            HELDOUT_PARTS.add(f"cmmlu/{path.stem}")
    return out


def oos_turn(ph: Phraser, rng, lang: str, split: str) -> tuple[str, str, str]:
    """(kind, user text, reply)."""
    kinds = ["knowledge", "knowledge", "creative", "advice", "translate", "news"]
    cm = cmmlu_questions() if lang == "zh" else {}
    if cm and rng.random() < 0.4:
        subjects = [s for s in cm if heldout_subject(s) == (split == "heldout")]
        subject = rng.choice(subjects)
        q, opts = rng.choice(cm[subject])
        if rng.random() < 0.4 and all(opts):
            q += "\n" + "\n".join(f"{k}. {o}" for k, o in zip("ABCD", opts))
        ph.used.append(f"cmmlu/{subject}")
        return "knowledge", q, oos_reply(rng, lang, "knowledge")
    kind = rng.choice(kinds)
    fill = {k: rng.choice(v) for k, v in _FILL[lang].items()}
    user = noisy(ph(ASK_OOS[(kind, lang)], key=True, **fill), rng, lang, rate=0.25)
    return kind, user, oos_reply(rng, lang, kind)
