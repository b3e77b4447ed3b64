/**
 * Word lists for person-name detection, written for this project (no external list was copied): common
 * given names across the languages Keelson's tenants write in, surname endings that are characteristic
 * of a language, and capitalised words that are never names. They raise recall on names that come with no
 * context cue; they cannot make a context-free regex into a named-entity recogniser (docs/guard.md, limits).
 */
const GIVEN = `
aaron abdul abdullah abigail ada adam adrian agnes ahmed aisha akira alan albert alberto alejandro aleksandr alex alexander
alexandra alexei alfred ali alice alicia alina alison amanda amelia amir amy ana anastasia anders andrea andreas andrei andrew
andrzej angela angelika ann anna anne annika anthony antoine anton antonio arjun arne arthur asa astrid barbara beatriz ben
benjamin bernd bernhard bianca bill birgit bob boris brian bruno camila carl carla carlos carmen caroline catherine cecilia
charles charlotte chen chloe chris christian christina christine christopher claire clara claudia colin daniel daniela david
deborah denis diana diego dmitri dominik donald dorothy edward elena elias elif elisabeth elizabeth ella emil emilia emilie
emily emma emre enrique eric erik erika ernst esther eva evelyn fatima felix fernando filip florian francesca francesco
francisco frank franz frederik gabriel gabriele george georg gerhard giovanni giulia giuseppe grace greta gustav hana hannah
hans harald harry heinz helen helena helmut henrik henry hiroshi hugo ian ida ingrid irene isabel isabella ivan jacob jakob
james jan jana jane janet jason javier jean jennifer jens jessica joanna joao johan johann johannes john jonas jorge jose
josef joseph juan julia julian juliane julie julien jurgen justin kai kamila karen karin karl kasper katarina katharina
kathrin katja kenji kevin kim klaus kristian lars laura lea lena leon leonardo liam lily linda lisa liu lorenzo louis lucas
lucia luis lukas luca magdalena maja manuel marc marco marek margaret maria marie marina mario mark marta martin mary mateo
matteo matthew matthias max maria mehmet melanie mia michael michal michel michelle miguel mikael mikhail milan milena
mohammed muhammad monika nadia natalia natalie nathan nicolas nicole niklas nikolai nina noah nora oliver olga oscar pablo
patricia patrick paul paula pavel pedro peter petra philipp pierre piotr rachel rafael ralf raphael rebecca richard rita
robert roberto rosa ruth ryan sabine samuel sandra sara sarah sebastian sergei simon sofia sophie stefan stefanie stephanie
steven susan susanne sven tamara tanja teresa thomas tim timo tobias tom tomas tomasz ursula valentina vanessa vera
victor victoria viktor vincent walter wei wolfgang xavier yan yusuf yuki zoe zofia
abby adele agnieszka aiden alana alessandro alessia alfie alma amalia amber andre andrea angelo anita annette antonia april
archie ariana arnav aryan audrey austin ava axel barry beatrice bella bert bettina betty blake bogdan brandon brenda brett
bridget bryan caitlin caitlyn calvin cameron carina carolina casper cathy chad charlie cheryl chiara christoph cindy clemens
connor craig cristina cynthia dana darius darren dave dean debra derek dennis diane dieter dolores dominic doris douglas
duncan dylan edith eduardo eileen elaine eleanor eli elin ellen elsa emilio erin ethan eugene fabian faina felipe fiona
frida gaetane gareth gary gemma gerald gerda gina gisela glenn gloria gordon gregory gunnar hailey halldor halldór hanne
hazel heather heidi heike helga herbert holly howard igor ilse ines inga isaac isak ivana jack jacqueline jake janka jasmine
jeffrey jenny jeremy jill joan joel jonathan jordan josh joshua joyce judith judy karim karina kate katie katrine kathleen
keith kelly ken kerstin kirsten kristina kurt kyle lara larissa laszlo lászló lauren lawrence leah leif leo leonie leslie
liam lina lionel lorena lorraine louise luke lydia lynn malte marcel marcus margit marianne marion marius marjorie marko
markus martha martina mathias matti maurice maximilian megan mette miklós miklos mila mildred miriam mirjam molly morten
nancy naomi neil nicholas nick niels nils noemi norbert odile olaf olivia otto owen pamela pascal patrik pauline penelope
petr philip phillip quentin rainer randy raymond regina reinhard renate rene rené rhys ricardo rick rikke robin roger roland
ronald rosalie ross roy rudolf rune russell sabrina sally salma samantha sandro santiago sascha scott sean selma serena
shannon sharon sheila siiri silvia siobhan sonja stanislav stella steffen stephen stuart sune sylvia tatiana terry theo
theresa tilly tina todd tomomi toni tony torsten tracy travis trevor troy ulrich uta valentin valerie vasco veronika
vicente vilma viola virginia vivian weronika wilhelm william willem wim yasmin yvonne zach zoltan zoltán
`;

export const GIVEN_NAMES: ReadonlySet<string> = new Set(GIVEN.split(/\s+/).filter(Boolean));

/** Surname endings characteristic of a language (Czech/Slovak -ová, Nordic -sson/-sen, Slavic -ski/-vić...). */
export const SURNAME_ENDING = /(?:ová|ová|ovà|sson|ssen|sen|son|ski|ska|sky|ský|ská|wicz|vić|vic|ić|escu|opoulos|poulos|idis|akis|enko|chuk|ishvili|yan|ian|inen|ainen|berg|stein|mann|ez|eau|elli|etti|ini|ova|eva|ov|ev|ina|ek|ák|ás|ó|ő|ü|ö|moto|yama|mura|kawa|shita|hara|saki|zaki|uchi|bashi|oglu|oğlu|aj|ak|czyk|icz)$/iu;
/** Gaelic and Dutch surname prefixes: McDonald, MacLean, O'Neil. */
export const SURNAME_PREFIX = /^(?:Mc\p{Lu}|Mac[a-z]{3,}|O['’]\p{Lu}|Fitz[a-z]{3,})/u;

/** Capitalised words that start sentences or name things and are never a person's name. */
const NOT_NAMES = `
a an the i i'm i've i'd i'll my me we our you your he she it they his her its their this that these those there here what
when where why how who which whose if then but and or so because while after before since until as at by for from in into of
on onto to with without about above below over under again also just only not no yes please thanks thank hello hi hey dear
good great well ok okay sure sorry sir madam mr mrs ms miss dr prof mister
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august september october
november december today tomorrow yesterday
street st avenue ave road rd lane drive court way place square boulevard apt suite unit box po
inc corp corporation llc ltd gmbh ag co company group bank university college school hospital church club
phone mobile fax desk office email e-mail website address name personal info card account number
remember maybe why yes note question answer subject re fwd date time where when
cool wow oh ah awesome nice perfect alright right fine hmm indeed absolutely really actually also anyway besides however congratulations welcome
producer director author singer writer professor doctor president ceo captain general senator minister judge coach
uncle aunt reverend father pastor rabbi imam officer sergeant detective agent nurse
bot user assistant customer agent service support team manager
god christmas easter
north south east west northern southern eastern western central new old
is are was were be been can could will would should may might must do does did have has had
`;
export const NOT_NAME_WORDS: ReadonlySet<string> = new Set(NOT_NAMES.split(/\s+/).filter(Boolean));

/** Words that make a capitalised sequence an organisation or a thing, not a person. */
const ORG = `
orchestra band choir technologies technology associates partners markets investments solutions bioscience biosciences capital
inc corp corporation llc ltd gmbh ag plc sa bv co company companies group holdings systems labs laboratories media consulting
services foundation institute university college school academy hospital clinic bank insurance club insider explorer data
software networks network analytics pharma pharmaceuticals energy motors airlines airways records studios productions press
publishing news times weekly magazine journal review guide tours travel hotel hotels resort restaurant cafe bar shop store
stores mart market industries international global worldwide enterprises ventures trust fund agency association council
committee department ministry office government party church cathedral museum gallery theatre theater stadium arena park
street avenue road square tower bridge river lake mountain island islands bay beach valley city county state republic kingdom
engineer engineering manager management developer designer director officer analyst scientist consultant specialist
coordinator administrator architect intern lead head chief president representative team department cloud web online digital
learning machine intelligence platform app apps service api server database security support success sales marketing
station airport terminal port harbour harbor line railway metro
`;
export const ORG_WORDS: ReadonlySet<string> = new Set(ORG.split(/\s+/).filter(Boolean));
