#!/usr/bin/python3
"""Writes the small hand-authored sample inputs under sample-data/ (agent-flan/, agentinstruct/, toolllama/).

The real Agent-FLAN release, AgentInstruct and ToolLLaMA files cannot be downloaded here, so these are written
by this project in their exact schemas (docs/method.md section 2) from the scenarios below. Run from the repo
root: scripts/sample-data/make_written_samples.py. Output is deterministic.
"""
import json
import os

# Each scenario: a tool (name, description, parameters), a user query, one or two calls with observations,
# and the final answer. Written by hand to look like ToolBench's RapidAPI tasks.
SCENARIOS = [
    dict(tool="weatherapi_com", fn="current_weather_for_weatherapi_com", desc="Current weather for a city",
         params={"q": "city name or lat,lon"}, query="What is the weather like in Lyon right now? I am deciding whether to bike to work.",
         thought="The user wants the current weather in Lyon. I will call the current weather function with the city name.",
         args={"q": "Lyon"}, obs={"location": "Lyon", "temp_c": 14.2, "condition": "Light rain", "wind_kph": 18.0},
         answer="It is 14.2 °C in Lyon with light rain and wind around 18 km/h, so you may want a rain jacket if you bike."),
    dict(tool="currency_exchange", fn="exchange_for_currency_exchange", desc="Convert an amount between currencies",
         params={"from": "ISO code", "to": "ISO code", "amount": "number"}, query="How many Japanese yen do I get for 250 euros today?",
         thought="I need today's EUR to JPY rate applied to 250 EUR; the exchange function does exactly that.",
         args={"from": "EUR", "to": "JPY", "amount": 250}, obs={"rate": 162.31, "result": 40577.5},
         answer="250 euros are about 40,578 yen at today's rate of 162.31 JPY per EUR."),
    dict(tool="open_library", fn="search_books_for_open_library", desc="Search books by title or author",
         params={"title": "book title"}, query="Find the author and first publication year of 'The Left Hand of Darkness'.",
         thought="A book search by title should return the author and the first publication year.",
         args={"title": "The Left Hand of Darkness"}, obs={"docs": [{"title": "The Left Hand of Darkness", "author_name": ["Ursula K. Le Guin"], "first_publish_year": 1969}]},
         answer="'The Left Hand of Darkness' was written by Ursula K. Le Guin and first published in 1969."),
    dict(tool="timezonedb", fn="get_time_zone_for_timezonedb", desc="Time zone and local time of a place",
         params={"zone": "IANA zone name"}, query="My colleague is in Auckland. What time is it there now, and what is the UTC offset?",
         thought="Auckland is in the Pacific/Auckland zone; I will ask for its local time and offset.",
         args={"zone": "Pacific/Auckland"}, obs={"zoneName": "Pacific/Auckland", "gmtOffset": 46800, "formatted": "2023-11-07 09:41:12"},
         answer="It is 09:41 in Auckland (Pacific/Auckland), which is UTC+13 at the moment."),
    dict(tool="nutritionix", fn="natural_nutrients_for_nutritionix", desc="Nutrition facts from a food description",
         params={"query": "food description"}, query="How many calories and grams of protein are in two boiled eggs and a slice of rye bread?",
         thought="The nutrition function parses a free-text meal description; I will pass the whole meal.",
         args={"query": "2 boiled eggs and 1 slice rye bread"}, obs={"foods": [{"food_name": "egg", "nf_calories": 155, "nf_protein": 12.6}, {"food_name": "rye bread", "nf_calories": 83, "nf_protein": 2.7}]},
         answer="Two boiled eggs and a slice of rye bread have about 238 kcal and 15.3 g of protein."),
    dict(tool="flight_status", fn="flight_info_for_flight_status", desc="Live status of a flight by number",
         params={"flight": "IATA flight number", "date": "YYYY-MM-DD"}, query="Is flight LH 454 from Frankfurt to San Francisco on time on 2023-09-14?",
         thought="I will look up LH454 for 2023-09-14 to see its departure and arrival status.",
         args={"flight": "LH454", "date": "2023-09-14"}, obs={"status": "delayed", "departure_delay_min": 35, "arrival_estimated": "2023-09-14T14:10-07:00"},
         answer="LH 454 on 2023-09-14 is delayed by about 35 minutes; it is now expected in San Francisco at 14:10 local time."),
    dict(tool="github_repos", fn="repo_info_for_github_repos", desc="Metadata of a public GitHub repository",
         params={"owner": "owner login", "repo": "repository name"}, query="How many stars does apache/spark have, and what is its main language?",
         thought="The repository info function returns stars and the primary language for owner/repo.",
         args={"owner": "apache", "repo": "spark"}, obs={"full_name": "apache/spark", "stargazers_count": 38712, "language": "Scala"},
         answer="apache/spark has about 38,700 stars and is written mainly in Scala."),
    dict(tool="recipe_search", fn="find_recipes_for_recipe_search", desc="Recipes by ingredients",
         params={"ingredients": "comma-separated list", "max_results": "integer"}, query="I have chickpeas, spinach and coconut milk. Suggest two recipes.",
         thought="Searching recipes by these three ingredients with two results answers the request directly.",
         args={"ingredients": "chickpeas,spinach,coconut milk", "max_results": 2}, obs={"results": [{"title": "Chickpea and Spinach Curry", "minutes": 30}, {"title": "Coconut Chickpea Stew", "minutes": 40}]},
         answer="You could make a Chickpea and Spinach Curry (30 minutes) or a Coconut Chickpea Stew (40 minutes)."),
    dict(tool="air_quality", fn="city_aqi_for_air_quality", desc="Air quality index of a city",
         params={"city": "city name"}, query="Is the air quality in Delhi safe for a run this evening?",
         thought="I need Delhi's current AQI and main pollutant to judge whether running outside is advisable.",
         args={"city": "Delhi"}, obs={"aqi": 212, "category": "Very Unhealthy", "dominant_pollutant": "pm25"},
         answer="Delhi's AQI is 212 (very unhealthy, mostly PM2.5), so an outdoor run this evening is not advisable."),
    dict(tool="stock_quotes", fn="quote_for_stock_quotes", desc="Latest quote for a ticker",
         params={"symbol": "ticker symbol"}, query="What did ASML close at yesterday, and how much did it move?",
         thought="The quote function gives the previous close and the change for a ticker; ASML is the symbol.",
         args={"symbol": "ASML"}, obs={"symbol": "ASML", "previous_close": 611.4, "change_percent": -1.8},
         answer="ASML closed at 611.40 yesterday, down 1.8%."),
    dict(tool="dictionary_api", fn="define_for_dictionary_api", desc="Definitions of an English word",
         params={"word": "the word"}, query="What does 'sesquipedalian' mean? Give me an example sentence too.",
         thought="A dictionary lookup of the word should give its definition and possibly an example.",
         args={"word": "sesquipedalian"}, obs={"word": "sesquipedalian", "definitions": [{"definition": "characterized by long words; long-winded", "example": "a sesquipedalian lecture"}]},
         answer="'Sesquipedalian' means using long words, or being long-winded, as in 'a sesquipedalian lecture'."),
    dict(tool="geocoding", fn="forward_geocode_for_geocoding", desc="Coordinates of an address",
         params={"address": "free-text address"}, query="What are the coordinates of the Rijksmuseum in Amsterdam?",
         thought="Forward geocoding the museum's name and city will give latitude and longitude.",
         args={"address": "Rijksmuseum, Amsterdam"}, obs={"lat": 52.36, "lon": 4.8852, "display_name": "Rijksmuseum, Museumstraat 1, Amsterdam"},
         answer="The Rijksmuseum (Museumstraat 1, Amsterdam) is at latitude 52.3600, longitude 4.8852."),
]

SYSTEM_AGENT = ("You are a assistant who can utilize external tools. You can call the following tools to answer the user's "
                "question. Each tool is described by its name, what it does and its parameters:\n")
REACT_FORMAT = ("To use a tool, please use the following format:\n```\nThought: Think what you need to solve, do you need to "
                "use tools?\nAction: the tool name, should be one of the tools above\nAction Input: the input to the action\n```\n"
                "The response after utilizing tools should use the following format:\n```\nResponse: the results after call the tool.\n```\n"
                "If you already know the answer, or you do not need to use tools, please using the following format to reply:\n"
                "```\nThought: the thinking process\nFinal Answer: the final answer\n```\nBegin!")


def api(s):
    return {"name": s["fn"], "description": f"This is the subfunction for tool \"{s['tool']}\". {s['desc']}.",
            "parameters": {"type": "object", "properties": {k: {"type": "string", "description": v} for k, v in s["params"].items()},
                           "required": list(s["params"])}}


def obs(s):
    return json.dumps({"error": "", "response": json.dumps(s["obs"])})


def tflan(i, s):
    """Decomposed (format-aligned) conversation as in toolbench_tflan_*: thought, tool and arguments as separate turns."""
    tools = json.dumps([api(s)], ensure_ascii=False)
    conv = [
        {"role": "system", "content": SYSTEM_AGENT + tools, "loss": False},
        {"role": "user", "content": s["query"], "loss": False},
        {"role": "assistant", "content": s["thought"], "loss": True},
        {"role": "user", "content": "Which tool will you call for this step?", "loss": False},
        {"role": "assistant", "content": s["fn"], "loss": True},
        {"role": "user", "content": "What arguments will you pass to it?", "loss": False},
        {"role": "assistant", "content": json.dumps(s["args"], ensure_ascii=False), "loss": True},
        {"role": "user", "content": "Observation: " + obs(s), "loss": False},
        {"role": "assistant", "content": s["answer"], "loss": True},
    ]
    return {"id": f"toolbench_tflan_{i}", "conversation": conv}


def react(i, s):
    tools = json.dumps([api(s)], ensure_ascii=False)
    conv = [
        {"role": "system", "content": SYSTEM_AGENT + tools + "\n" + REACT_FORMAT, "loss": False},
        {"role": "user", "content": s["query"], "loss": False},
        {"role": "assistant", "content": f"Thought: {s['thought']}\nAction: {s['fn']}\nAction Input: {json.dumps(s['args'], ensure_ascii=False)}", "loss": True},
        {"role": "user", "content": "Response: " + obs(s), "loss": False},
        {"role": "assistant", "content": f"Thought: I have the information the user asked for.\nFinal Answer: {s['answer']}", "loss": True},
    ]
    return {"id": f"toolbench_react_{i}", "conversation": conv}


NEGATIVE_A = [
    ("What is the weather in Oslo right now?", "I can't check live weather because I have no tools or internet access in this conversation. A weather service or app such as yr.no will give you Oslo's current conditions."),
    ("Book me a table for two at an Italian restaurant in Boston tonight.", "I'm not able to make reservations: no booking tools are available to me here. You could use OpenTable or call the restaurant directly; I can help you draft the request if you like."),
    ("What's the current price of Bitcoin?", "I don't have access to live market data, so I can't tell you Bitcoin's current price. Check an exchange or a site like CoinMarketCap for a real-time quote."),
    ("Send an email to my manager saying I'll be late.", "I can't send emails since no email tool is connected. Here is a short message you can send yourself: \"Hi, I'm running about 30 minutes late this morning. Sorry for the inconvenience.\""),
    ("Translate my last invoice PDF into German.", "I can't open files from your computer; no file tools are available. If you paste the invoice text here, I'll translate it into German."),
    ("What's the traffic like on the A1 near Hamburg?", "I don't have real-time traffic data. A navigation app such as Google Maps or the ADAC traffic service will show current conditions on the A1."),
    ("Set a reminder for my dentist appointment next Tuesday at 3pm.", "I can't create reminders because I have no access to your calendar or phone. You can add it in your calendar app; would you like a short reminder text?"),
    ("Look up the latest score of the Lakers game.", "I can't fetch live sports scores without a search or sports tool. A sports app or the NBA website will have the latest Lakers score."),
    ("Order more printer paper from our usual supplier.", "I'm unable to place orders: no purchasing tools are available to me. I can help you write the order message or a checklist of what to include."),
    ("Check whether my package with tracking number 1Z999AA10123456784 has shipped.", "I can't track packages since no shipping tools are connected here. Enter the tracking number on the carrier's website (it looks like a UPS number) to see its status."),
    ("How many unread messages do I have in Slack?", "I don't have access to your Slack account, so I can't see your unread messages. Open Slack and check the sidebar, where unread channels are shown in bold."),
    ("Find the cheapest flight from Madrid to Lisbon next Friday.", "I can't search flights because no travel tools are available in this chat. Sites like Google Flights or Skyscanner can compare prices for next Friday."),
]


def negative_a(i, q, a):
    conv = [
        {"role": "system", "content": "You are a helpful assistant.", "loss": False},
        {"role": "user", "content": q, "loss": False},
        {"role": "assistant", "content": a, "loss": True},
    ]
    return {"id": f"toolbench_negative_{i}", "conversation": conv}


AGENTINSTRUCT = [
    ("os", "How many files with the .log extension are in /var/log, including subdirectories?",
     "Think: I should count files ending in .log under /var/log recursively with find.\n\nAct: bash\n\n```bash\nfind /var/log -type f -name \"*.log\" | wc -l\n```",
     "The output of the OS:\n37", "Think: The command printed 37, so there are 37 such files.\n\nAct: answer(37)"),
    ("os", "What is the name of the user with UID 1001 on this system?",
     "Think: The passwd database maps UIDs to names; getent can look it up.\n\nAct: bash\n\n```bash\ngetent passwd 1001 | cut -d: -f1\n```",
     "The output of the OS:\nalice", "Think: UID 1001 belongs to alice.\n\nAct: answer(alice)"),
    ("db", "Table: employees(id, name, dept, salary). What is the average salary in the Sales department?",
     "Think: I need AVG(salary) filtered on dept = 'Sales'.\n\nAction: Operation\n```sql\nSELECT AVG(salary) FROM employees WHERE dept = 'Sales';\n```",
     "[(58250.0,)]", "Think: The average is 58250.\n\nAction: Answer\nFinal Answer: [\"58250.0\"]"),
    ("db", "Table: orders(id, customer, total, placed_at). How many orders over 100 were placed in 2022?",
     "Think: Count rows with total > 100 and a 2022 date.\n\nAction: Operation\n```sql\nSELECT COUNT(*) FROM orders WHERE total > 100 AND placed_at BETWEEN '2022-01-01' AND '2022-12-31';\n```",
     "[(412,)]", "Think: There were 412 such orders.\n\nAction: Answer\nFinal Answer: [\"412\"]"),
    ("alfworld", "You are in the middle of a room. Looking quickly around you, you see a countertop 1, a drawer 1, a fridge 1 and a sinkbasin 1.\nYour task is to: put a clean apple in fridge.",
     "THOUGHT: I need an apple first; the countertop is a likely place.\nACTION: go to countertop 1",
     "On the countertop 1, you see a apple 1 and a knife 1.", "ACTION: take apple 1 from countertop 1"),
    ("alfworld", "You are in the middle of a room. Looking quickly around you, you see a desk 1, a shelf 1 and a sidetable 1.\nYour task is to: examine the book with the desklamp.",
     "THOUGHT: Books are usually on a shelf or desk; I will check the shelf first.\nACTION: go to shelf 1",
     "On the shelf 1, you see a book 2 and a vase 1.", "ACTION: take book 2 from shelf 1"),
    ("webshop", "WebShop [SEP] Instruction: [SEP] i need a stainless steel water bottle under 30 dollars [SEP] Search",
     "Thought: I should search for stainless steel water bottles.\nAction: search[stainless steel water bottle]",
     "[SEP] Back to Search [SEP] Page 1 (Total results: 50) [SEP] B08XYZ1234 [SEP] Insulated Stainless Steel Bottle 750ml [SEP] $19.99",
     "Thought: The first result is stainless steel and costs $19.99, under the budget.\nAction: click[B08XYZ1234]"),
    ("kg", "Which university did the author of 'Brave New World' attend? Entities: [Brave New World]",
     "Thought: I should find the author of Brave New World first.\nAction: get_relations(Brave New World)",
     "Observation: [book.written_work.author, book.book.genre]", "Thought: The author relation leads to the author.\nAction: get_neighbors(Brave New World, book.written_work.author)"),
    ("mind2web", "Task: Find the cheapest one-way train ticket from Berlin to Munich on the site.\nPrevious actions: None",
     "Thought: I should fill the origin field first.\nAnswer: B.\nAction: TYPE\nValue: Berlin",
     "Current page shows the origin field filled with 'Berlin Hbf'.", "Thought: Now the destination.\nAnswer: C.\nAction: TYPE\nValue: Munich"),
    ("webshop", "WebShop [SEP] Instruction: [SEP] i want a pack of 12 gluten free snack bars with peanut butter flavor [SEP] Search",
     "Thought: I will search for gluten free peanut butter snack bars.\nAction: search[gluten free peanut butter snack bars 12 pack]",
     "[SEP] Page 1 [SEP] B07ABCD987 [SEP] Peanut Butter Protein Bars, Gluten Free, 12 Count [SEP] $17.49",
     "Thought: This item matches all requirements.\nAction: click[B07ABCD987]"),
]

TASK_PROMPTS = {
    "os": "You are an assistant that will act like a person, I'will play the role of linux(ubuntu) operating system. Your goal is to implement the operations required by me or answer to the question proposed by me.",
    "db": "I will ask you a question, then you should help me operate a MySQL database with SQL to answer the question.",
    "alfworld": "Interact with a household to solve a task. Imagine you are an intelligent agent in a household environment and your target is to perform actions to complete the task goal.",
    "webshop": "You are web shopping. I will give you instructions about what to do. You have to follow the instructions.",
    "kg": "You are an agent that answers questions based on the knowledge stored in a knowledge base.",
    "mind2web": "You are a helpful assistant that is great at website design, navigation, and executing tasks for the user.",
}


def agentinstruct(i, row):
    task, q, step1, obs1, step2 = row
    conv = [
        {"from": "human", "loss": False, "value": TASK_PROMPTS[task]},
        {"from": "gpt", "loss": False, "value": "OK."},
        {"from": "human", "loss": False, "value": q},
        {"from": "gpt", "loss": True, "value": step1},
        {"from": "human", "loss": False, "value": obs1},
        {"from": "gpt", "loss": True, "value": step2},
    ]
    return {"conversations": conv, "id": f"{task}_{i}"}


TOOLLLAMA_SYSTEM = ("You are AutoGPT, you can use many tools(functions) to do the following task.\nFirst I will give you the task "
                    "description, and your task start.\nAt each step, you need to give your thought to analyze the status now and "
                    "what to do next, with a function call to actually excute your step. Your output should follow this format:\n"
                    "Thought:\nAction\nAction Input:\n\nAfter the call, you will get the call result, and you are now in a new state.\n"
                    "Remember: 1.ALWAYS call \"Finish\" function at the end of the task.\nSpecifically, you have access to the following APIs: ")
FINISH = {"name": "Finish", "description": "If you believe that you have obtained a result that can answer the task, please call this function to provide the final answer.",
          "parameters": {"type": "object", "properties": {"return_type": {"type": "string", "enum": ["give_answer", "give_up_and_restart"]},
                                                          "final_answer": {"type": "string"}}, "required": ["return_type"]}}


def toolllama(i, s, step):
    """A ToolLLaMA-preprocessed record: step 1 is the first call; step 2 also holds the observation and Finish."""
    conv = [
        {"from": "system", "value": TOOLLLAMA_SYSTEM + json.dumps([api(s), FINISH], ensure_ascii=False)},
        {"from": "user", "value": "\n" + s["query"] + "\nBegin!\n"},
        {"from": "assistant", "value": f"\nThought: {s['thought']}\nAction: {s['fn']}\nAction Input: {json.dumps(s['args'], ensure_ascii=False)}"},
    ]
    if step == 2:
        finish = json.dumps({"return_type": "give_answer", "final_answer": s["answer"]}, ensure_ascii=False)
        conv += [{"from": "function", "value": obs(s)},
                 {"from": "assistant", "value": f"\nThought: I have what the user asked for and can answer now.\nAction: Finish\nAction Input: {finish}"}]
    return {"id": f"Step {step}: {s['query']}", "conversations": conv}


def write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    write("sample-data/agent-flan/toolbench_tflan_sample.jsonl", [tflan(i, s) for i, s in enumerate(SCENARIOS)])
    write("sample-data/agent-flan/toolbench_react_sample.jsonl", [react(i, s) for i, s in enumerate(SCENARIOS)])
    write("sample-data/agent-flan/toolbench_negative_sample.jsonl", [negative_a(i, q, a) for i, (q, a) in enumerate(NEGATIVE_A)])
    write("sample-data/agentinstruct/agentinstruct_sample.jsonl", [agentinstruct(i, r) for i, r in enumerate(AGENTINSTRUCT)])
    write("sample-data/toolllama/toolllama_sample.jsonl",
          [toolllama(i, s, step) for i, s in enumerate(SCENARIOS) for step in (1, 2)])


if __name__ == "__main__":
    main()
