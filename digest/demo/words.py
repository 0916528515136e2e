"""The words the demo data is made of: topics, cities, names, event kinds, talk titles, rooms.

Names are written as their owners write them (accents and other scripts), which the
site's slugs transliterate.
"""

TOPICS = [
    "Python",
    "Django",
    "JavaScript",
    "TypeScript",
    "React",
    "Rust",
    "Go",
    "Java",
    "Kotlin",
    "Swift",
    "Ruby",
    "Elixir",
    "Haskell",
    "Scala",
    "C++",
    "PostgreSQL",
    "Redis",
    "Kubernetes",
    "DevOps",
    "Security",
    "Machine Learning",
    "Data Science",
    "Accessibility",
    "UX Design",
    "Product Management",
    "Open Source",
    "Cloud",
    "Serverless",
    "Testing",
    "Performance",
    "Mobile",
    "Web Standards",
    "CSS",
    "Databases",
    "Distributed Systems",
    "Observability",
    "Agile",
    "Leadership",
    "Startups",
    "Journalism",
    "Open Data",
    "Privacy",
    "Embedded",
    "Game Development",
    "Blockchain",
    "Search",
    "APIs",
    "Microservices",
    "GraphQL",
    "Education",
    "Diversity in Tech",
    "Hardware",
    "Robotics",
    "Bioinformatics",
    "FinTech",
    "Civic Tech",
]

CITIES = [
    ("London", "United Kingdom", "Europe/London"),
    ("Berlin", "Germany", "Europe/Berlin"),
    ("Paris", "France", "Europe/Paris"),
    ("Amsterdam", "Netherlands", "Europe/Amsterdam"),
    ("Lisbon", "Portugal", "Europe/Lisbon"),
    ("Madrid", "Spain", "Europe/Madrid"),
    ("Barcelona", "Spain", "Europe/Madrid"),
    ("Dublin", "Ireland", "Europe/Dublin"),
    ("Stockholm", "Sweden", "Europe/Stockholm"),
    ("Copenhagen", "Denmark", "Europe/Copenhagen"),
    ("Oslo", "Norway", "Europe/Oslo"),
    ("Helsinki", "Finland", "Europe/Helsinki"),
    ("Warsaw", "Poland", "Europe/Warsaw"),
    ("Prague", "Czechia", "Europe/Prague"),
    ("Vienna", "Austria", "Europe/Vienna"),
    ("Zurich", "Switzerland", "Europe/Zurich"),
    ("Milan", "Italy", "Europe/Rome"),
    ("Florence", "Italy", "Europe/Rome"),
    ("Athens", "Greece", "Europe/Athens"),
    ("Istanbul", "Turkey", "Europe/Istanbul"),
    ("Kyiv", "Ukraine", "Europe/Kyiv"),
    ("Tel Aviv", "Israel", "Asia/Jerusalem"),
    ("Cape Town", "South Africa", "Africa/Johannesburg"),
    ("Lagos", "Nigeria", "Africa/Lagos"),
    ("Nairobi", "Kenya", "Africa/Nairobi"),
    ("Dubai", "United Arab Emirates", "Asia/Dubai"),
    ("Bangalore", "India", "Asia/Kolkata"),
    ("Mumbai", "India", "Asia/Kolkata"),
    ("Singapore", "Singapore", "Asia/Singapore"),
    ("Kuala Lumpur", "Malaysia", "Asia/Kuala_Lumpur"),
    ("Bangkok", "Thailand", "Asia/Bangkok"),
    ("Hong Kong", "China", "Asia/Hong_Kong"),
    ("Shanghai", "China", "Asia/Shanghai"),
    ("Seoul", "South Korea", "Asia/Seoul"),
    ("Tokyo", "Japan", "Asia/Tokyo"),
    ("Sydney", "Australia", "Australia/Sydney"),
    ("Melbourne", "Australia", "Australia/Melbourne"),
    ("Auckland", "New Zealand", "Pacific/Auckland"),
    ("San Francisco", "United States", "America/Los_Angeles"),
    ("Seattle", "United States", "America/Los_Angeles"),
    ("Portland", "United States", "America/Los_Angeles"),
    ("Austin", "United States", "America/Chicago"),
    ("Chicago", "United States", "America/Chicago"),
    ("New York", "United States", "America/New_York"),
    ("Boston", "United States", "America/New_York"),
    ("Toronto", "Canada", "America/Toronto"),
    ("Montreal", "Canada", "America/Toronto"),
    ("Vancouver", "Canada", "America/Vancouver"),
    ("Mexico City", "Mexico", "America/Mexico_City"),
    ("Bogotá", "Colombia", "America/Bogota"),
    ("São Paulo", "Brazil", "America/Sao_Paulo"),
    ("Buenos Aires", "Argentina", "America/Argentina/Buenos_Aires"),
    ("Santiago", "Chile", "America/Santiago"),
    ("Reykjavík", "Iceland", "Atlantic/Reykjavik"),
]

FIRST_NAMES = (
    "Ada Alan Grace Linus Guido Barbara Margaret Dennis Ken Radia Frances Donald Edsger John Tim Vint Hedy "
    "Katherine Dorothy Mary Annie Jean Karen Sophie Frank Niklaus Bjarne James Yukihiro Rasmus Larry Brendan "
    "Anders Simon Jacob Andrew Natalie Ola Jessica Carlos Sofia Mateo Lucia Hiro Aiko Ravi Priya Wei Mei "
    "Olu Amara Kwame Zainab Omar Leila Ivan Olga Lars Ingrid Pieter Anouk Luca Giulia Pedro Ana Diego Camila "
    "Sean Aoife Noah Emma Liam Olivia Ethan Ava Mia Lucas Chloe Arjun Ananya Kenji Yuki Min-jun Seo-yeon "
    # Names as their owners write them: accents and other scripts, which slugs transliterate.
    "José Zoë Søren Łukasz Ángela Björn François Dmitrii Дмитрий Анастасия Νίκος 李娜 王伟 さくら 翔太 민준 "
    "محمد فاطمة אורי प्रिया Nguyễn"
).split()
LAST_NAMES = (
    "Lovelace Turing Hopper Torvalds van-Rossum Liskov Hamilton Ritchie Thompson Perlman Allen Knuth Dijkstra "
    "McCarthy Berners-Lee Cerf Lamarr Johnson Vaughan Jackson Easley Sammet Jones Wilson Wirth Stroustrup "
    "Gosling Matsumoto Lerdorf Wall Eich Hejlsberg Willison Kaplan-Moss Godwin Hughes Kowalski Garcia Rossi "
    "Silva Santos Tanaka Sato Patel Sharma Chen Wang Li Zhang Okafor Mensah Haddad Petrov Ivanova Nielsen "
    "Jansen de-Vries Bianchi Costa Fernandes Murphy Kelly Smith Brown Taylor Martin Dubois Muller Schmidt "
    "Novak Horvat Kim Park Lee Nguyen Tran Singh Gupta Yamamoto Suzuki Hernandez Lopez Gonzalez Moreau "
    "Müller Ødegaard Wałęsa Núñez Šimková Çelik Иванова Παπαδόπουλος 田中 김 حداد כהן शर्मा Trần"
).split()

EVENT_KINDS = ["Conf", "Summit", "Days", "Camp", "Meetup", "Forum", "Festival", "Unconference", "Workshop", "Week"]
TALK_OPENERS = [
    "Lessons from",
    "Scaling",
    "A gentle introduction to",
    "What I wish I knew about",
    "Ten years of",
    "Rethinking",
    "Debugging",
    "Testing",
    "Shipping",
    "The hidden cost of",
    "Beyond",
    "Demystifying",
]
TALK_SUBJECTS = [
    "a million users",
    "legacy code",
    "distributed caches",
    "type systems",
    "async I/O",
    "search at scale",
    "accessible interfaces",
    "zero-downtime deploys",
    "feature flags",
    "set intersections",
    "email at scale",
    "the database you already have",
    "on-call",
    "open source communities",
    "privacy by design",
    "observability",
]

ROOMS = ["Main hall", "Room 2", "Room 3", "Workshop room", "Hall B"]
