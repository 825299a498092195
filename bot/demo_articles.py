"""Articles the demo feed releases besides the seed corpus: near misses, off-topic news and a
syndicated copy of a seed story.  Written for wirewatch; the tests use them too.

Each is ``(kind, title, source, date, text)``; ``kind`` is "near-miss", "off-topic" or
"duplicate" (another outlet's version of the first seed story).
"""

from __future__ import annotations

DemoArticle = tuple[str, str, str, str, str]

COLOMBIA = (
    "near-miss",
    "Colombia receives two more deportation flights from Texas",
    "Andes Daily",
    "2025-02-04",
    """BOGOTÁ — Two US deportation flights landed at El Dorado airport in Bogotá on Tuesday, \
carrying 201 Colombians, as Colombia and Washington moved past last week's dispute over \
military planes.

Colombian officials met the returnees on the tarmac. President Gustavo Petro said Colombia \
would send its own air force planes if needed to bring Colombian citizens home with dignity.

The Colombian foreign ministry said the deportees had received food and medical checks on \
arrival in Bogotá, and that a third flight to Colombia was expected on Friday.

The row began when Petro refused to let two US military aircraft land, prompting threats of \
tariffs on Colombian coffee and flowers. Colombia backed down within hours.

Migration experts in Bogotá noted that Colombia has received more deportation flights than \
any other South American country this year. Flights to neighbouring Venezuela, by contrast, \
remained suspended at the time.

Human rights groups asked Colombia to check that deportees were not handcuffed during the \
flights, as some passengers on earlier flights had reported.""",
)

HONDURAS = (
    "near-miss",
    "Honduras and Guatemala brace for more removal flights",
    "Central America Wire",
    "2025-02-11",
    """TEGUCIGALPA — Honduras and Guatemala are preparing reception centres for a growing \
number of removal flights from the United States, officials in both countries said on Monday.

Honduran authorities said 14 flights carrying Hondurans had landed in San Pedro Sula this \
month, while Guatemala received 22 flights at its air force base in Guatemala City.

"We are receiving our people with open arms," said a Honduran deputy foreign minister, adding \
that Honduras needed more international help to reintegrate returnees.

Guatemalan President Bernardo Arévalo agreed in January to accept an increase in flights, \
including some carrying migrants of other nationalities. Guatemalan officials said shelters in \
Guatemala City were near capacity.

Aid groups in Honduras said many deportees arrive with nothing. Some had lived in the United \
States for more than a decade.

The wider regional picture includes Venezuelan migrants stranded in Mexico, but the Honduran \
and Guatemalan governments said their priority was their own citizens.""",
)

OIL = (
    "near-miss",
    "Chevron winds down Venezuela oil operations after licence revoked",
    "Energy Ledger",
    "2025-03-05",
    """CARACAS — Chevron began winding down its oil operations in Venezuela on Wednesday after \
Washington revoked the licence that allowed the company to pump and export Venezuelan crude.

The decision cuts one of Venezuela's main sources of hard currency. Venezuelan oil exports \
had risen to about 900,000 barrels a day, with Chevron's joint ventures with state company \
PDVSA accounting for roughly a quarter of production.

Analysts in Caracas said the loss of Chevron's cargoes would widen Venezuela's budget gap and \
push up the price of the dollar on the parallel market.

PDVSA said it would keep the fields running with its own staff and seek buyers in Asia for \
the crude that Chevron had been shipping to refineries on the US Gulf Coast.

The licence had been granted in 2022 as relations thawed. Officials in Washington linked its \
cancellation to political conditions in Venezuela and, in a brief statement, to the pace of \
deportation flights, which they said Caracas had failed to accept as agreed.

Oil prices barely moved on the news, as Venezuelan output remains small on a global scale.""",
)

DIPLOMACY = (
    "near-miss",
    "Venezuela and Brazil hold talks on border trade and elections",
    "Southern Dispatch",
    "2025-03-12",
    """CARACAS — Venezuelan and Brazilian foreign ministers met in Caracas on Tuesday to \
discuss border trade, energy links and the aftermath of Venezuela's disputed presidential \
election.

Venezuela's foreign minister said the two countries agreed to reopen a border crossing in \
Roraima state and to study a new power line between the two nations.

Brazil has refused to recognise the official result of Venezuela's July election, in which \
the electoral council declared President Nicolás Maduro the winner without publishing \
precinct-level tallies. Venezuelan officials called the talks "respectful and frank."

Diplomats said the meeting also touched on Venezuela's application to join the BRICS group, \
which Brazil blocked last year, and on the fate of opposition figures sheltering in the \
Argentine embassy in Caracas.

Asked about relations with Washington, the minister said Venezuela would keep talking to \
the United States on migration, including repatriation, but that sanctions remained the \
main obstacle to normal ties.

No date was set for a follow-up meeting in Brasília.""",
)

FOOTBALL = (
    "off-topic",
    "Late goal sends Caracas FC into Copa Libertadores group stage",
    "Sports Desk",
    "2025-03-14",
    """A stoppage-time header sent Caracas FC into the group stage of the Copa Libertadores on \
Thursday night, sparking celebrations at the Estadio Olímpico.

The Venezuelan champions had trailed 1–0 for most of the second leg before their captain \
equalised in the 93rd minute, winning the tie on away goals.

The club's coach said the squad had "flown halfway across the continent and back" in a \
week of travel, and praised supporters who made the trip.

The draw for the group stage takes place next week in Paraguay.""",
)

WEATHER = (
    "off-topic",
    "Storms ground flights across the US Midwest",
    "Weather Now",
    "2025-03-15",
    """Severe thunderstorms grounded hundreds of flights at Chicago's O'Hare and Midway airports \
on Saturday, with delays spreading to hubs across the Midwest.

Airlines issued travel waivers for passengers booked through Sunday. Forecasters warned of \
damaging winds, large hail and possible tornadoes from Missouri to Ohio.

Airport officials advised travellers to check their flight status before leaving home.""",
)

SYNDICATED = (
    "duplicate",
    "US resumes deportation flights of Venezuelan migrants",
    "Wire Service Weekly",
    "2023-10-18",
    """Deportation flights of Venezuelan citizens from the United States resumed on Wednesday as \
part of the Joe Biden administration's efforts to manage the increasing number of \
asylum-seekers, the Associated Press reports.

This marks the first time in years that US immigration authorities are deporting individuals \
to Venezuela, a significant shift in the relationship between the US and the government of \
Venezuela's President Nicolás Maduro.

The first deportation flight, a Boeing 737 jet, departed from the Texas border city of \
Harlingen and landed in Miami before continuing to Caracas, the capital of Venezuela.

Onboard the US migrant deportation flight were around 130 Venezuelan men and women who had \
been transported to the plane via buses and were wearing wrist and ankle restraints.

They underwent security checks conducted by US immigration officers.

The Biden administration has indicated its intention to conduct "multiple" deportation \
flights to Venezuela each week, per a waiver issued by the US Transportation Department, \
effectively making Venezuela one of the top international destinations for US immigration \
authorities.

The direct deportations to Venezuela, which had been stalled for several years due to \
diplomatic tensions between the two countries, are now being revived.""",
)

NEAR_MISSES: tuple[DemoArticle, ...] = (COLOMBIA, HONDURAS, OIL, DIPLOMACY)
OFF_TOPIC: tuple[DemoArticle, ...] = (FOOTBALL, WEATHER)
EXTRA: tuple[DemoArticle, ...] = (*NEAR_MISSES, *OFF_TOPIC, SYNDICATED)
