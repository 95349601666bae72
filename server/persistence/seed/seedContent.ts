import type {
  BlogPost,
  Event,
  ForumReply,
  ForumSection,
  ForumTopic,
  StoreItem,
} from "../../../protocol/content.js";

/**
 * Demo content for a fresh installation: the store catalogue, the blog, events and the forum.
 *
 * Everything is fictional (album titles, venues, people) and all URLs use example domains. Dates are
 * computed relative to `now`, so a seed run on any day yields upcoming events, recent posts and a
 * forum that looks alive; the same `now` always yields the same content.
 */
export interface SeedContent {
  storeItems: StoreItem[];
  blogPosts: BlogPost[];
  events: Event[];
  forumSections: ForumSection[];
  forumTopics: ForumTopic[];
  forumReplies: ForumReply[];
}

type Money = StoreItem["price"];

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

const CDN = "https://cdn.aloevera.example";
const SHOP = "https://shop.aloevera.example";
const TICKETS = "https://tickets.aloevera.example";

/** UTC offsets (hours) of the cities events happen in; Berlin's summer time is ignored. */
const MSK = 3;
const YEKT = 5;
const NOVT = 7;
const CET = 1;
const TBS = 4;

const iso = (ms: number): string => new Date(ms).toISOString();

/** Joins sentences into one paragraph, so that long texts stay within the line width in source. */
const sentences = (...parts: string[]): string => parts.join(" ");

const rub = (rubles: number): Money => ({ amount: Math.round(rubles * 100), currency: "RUB" });
const eur = (euros: number): Money => ({ amount: Math.round(euros * 100), currency: "EUR" });
const usd = (dollars: number): Money => ({ amount: Math.round(dollars * 100), currency: "USD" });

const cdn = (path: string): string => `${CDN}/${path}`;
const productUrl = (id: string): string => `${SHOP}/products/${id}`;

interface SeedUser {
  id: string;
  name: string;
}

const USERS = {
  team: { id: "seed-user-1", name: "harmony_team" },
  lena: { id: "seed-user-2", name: "lena_listens" },
  kazan: { id: "seed-user-3", name: "north_wind_kazan" },
  dima: { id: "seed-user-4", name: "vinyl_dima" },
  sasha: { id: "seed-user-5", name: "sasha_from_spb" },
  berlin: { id: "seed-user-6", name: "berlin_aloe" },
  tamar: { id: "seed-user-7", name: "tamar_sings" },
  olya: { id: "seed-user-8", name: "ural_olya" },
  nik: { id: "seed-user-9", name: "novosib_nik" },
  guitar: { id: "seed-user-10", name: "quiet_guitar" },
  moss: { id: "seed-user-11", name: "moss_and_tea" },
  coder: { id: "seed-user-12", name: "code_and_chords" },
} satisfies Record<string, SeedUser>;

interface ReplySpec {
  by: SeedUser;
  /** Hours after the topic was opened. */
  after: number;
  body: string;
}

interface TopicSpec {
  id: string;
  sectionId: string;
  title: string;
  by: SeedUser;
  daysAgo: number;
  pinned?: boolean;
  locked?: boolean;
  replies: ReplySpec[];
}

const reply = (by: SeedUser, after: number, ...body: string[]): ReplySpec => ({
  by,
  after,
  body: sentences(...body),
});

export function seedContent(now: Date): SeedContent {
  const nowMs = now.getTime();
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());

  /** `days` from today (UTC) at `hour`:`minute` UTC; negative days are in the past. */
  const daysFrom = (days: number, hour = 19, minute = 0): string =>
    iso(midnight + days * DAY_MS + hour * HOUR_MS + minute * 60_000);

  /** An event slot `days` from today, starting at `localHour` in a city `utcOffset` hours ahead of UTC. */
  const slot = (days: number, localHour: number, utcOffset: number, durationHours: number) => {
    const start = midnight + days * DAY_MS + (localHour - utcOffset) * HOUR_MS;
    return { startsAt: iso(start), endsAt: iso(start + durationHours * HOUR_MS) };
  };

  const forum = buildForum(nowMs);
  return {
    storeItems: storeItems(daysFrom),
    blogPosts: blogPosts(daysFrom),
    events: events(slot),
    forumSections: FORUM_SECTIONS.map((section) => ({ ...section })),
    forumTopics: forum.topics,
    forumReplies: forum.replies,
  };
}

// ---------------------------------------------------------------------------------------------------
// Store

function storeItems(daysFrom: (days: number, hour?: number) => string): StoreItem[] {
  const item = (
    fields: Omit<StoreItem, "imageUrl" | "purchaseUrl" | "createdAt">,
    createdDaysAgo: number,
  ): StoreItem => ({
    ...fields,
    imageUrl: cdn(`store/${fields.id}.jpg`),
    purchaseUrl: productUrl(fields.id),
    createdAt: daysFrom(-createdDaysAgo, 10),
  });

  return [
    item(
      {
        id: "greenhouse-vinyl-lp",
        title: "Greenhouse — Vinyl LP",
        description: sentences(
          "The studio album on 180-gram black vinyl, cut from the analogue masters.",
          "Comes with a printed inner sleeve with all the lyrics in Russian and English.",
        ),
        category: "music",
        price: rub(3900),
        tags: ["vinyl", "album", "greenhouse"],
        available: true,
      },
      340,
    ),
    item(
      {
        id: "greenhouse-vinyl-lp-green-edition",
        title: "Greenhouse — Limited Green Vinyl",
        description: sentences(
          "A numbered edition of 500 copies pressed on translucent green vinyl, signed by the band.",
          "Sold out for now — we will let you know in the app if there is ever a second pressing.",
        ),
        category: "music",
        price: rub(5900),
        tags: ["vinyl", "album", "limited-edition", "signed"],
        available: false,
      },
      338,
    ),
    item(
      {
        id: "live-at-home-cd",
        title: "Live at Home — CD",
        description: sentences(
          "Fourteen songs recorded over two sold-out nights in Moscow, in a six-panel digipak.",
          "Includes the acoustic encore the band rarely plays anywhere else.",
        ),
        category: "music",
        price: rub(1200),
        tags: ["cd", "live", "album"],
        available: true,
      },
      210,
    ),
    item(
      {
        id: "greenhouse-digital-album",
        title: "Greenhouse — Digital Album",
        description: sentences(
          "The full album as lossless FLAC and high-quality MP3, with a PDF booklet.",
          "Download links arrive by email right after purchase.",
        ),
        category: "music",
        price: usd(9),
        tags: ["digital", "album", "greenhouse", "flac"],
        available: true,
      },
      330,
    ),
    item(
      {
        id: "logo-tshirt-white",
        title: "AloeVera Logo T-Shirt — White",
        description: sentences(
          "Heavyweight organic cotton tee with the hand-drawn AloeVera logo on the chest.",
          "Unisex cut, sizes XS to XXL.",
        ),
        category: "merch",
        price: rub(2400),
        tags: ["t-shirt", "apparel", "logo"],
        available: true,
      },
      300,
    ),
    item(
      {
        id: "tour-tshirt-black",
        title: "Tour T-Shirt — Black",
        description: sentences(
          "The tour shirt with every city of the last tour printed on the back.",
          "The print run is over; a new design for the upcoming tour is on its way.",
        ),
        category: "merch",
        price: rub(2600),
        tags: ["t-shirt", "apparel", "tour"],
        available: false,
      },
      250,
    ),
    item(
      {
        id: "harmony-hoodie-sage",
        title: "Harmony Hoodie — Sage Green",
        description: sentences(
          "A soft brushed-fleece hoodie in the band's signature sage green with an embroidered leaf.",
          "Warm enough for queues outside winter concerts.",
        ),
        category: "merch",
        price: rub(5200),
        tags: ["hoodie", "apparel", "embroidered"],
        available: true,
      },
      160,
    ),
    item(
      {
        id: "canvas-tote-bag",
        title: "Canvas Tote Bag",
        description:
          "A sturdy natural canvas tote with a screen-printed line from the song that started it all.",
        category: "merch",
        price: rub(1100),
        tags: ["tote-bag", "bag", "eco"],
        available: true,
      },
      120,
    ),
    item(
      {
        id: "enamel-pin-set",
        title: "Enamel Pin Set",
        description: sentences(
          "Three hard-enamel pins: the leaf, the microphone and the little house from the album cover.",
          "They look great on a denim jacket or a backpack strap.",
        ),
        category: "accessories",
        price: rub(900),
        tags: ["pins", "enamel"],
        available: true,
      },
      190,
    ),
    item(
      {
        id: "tour-poster-a2",
        title: "Tour Poster — A2",
        description: sentences(
          "An A2 riso-printed poster by an illustrator from the fan community.",
          "Printed on thick recycled paper and shipped rolled in a tube.",
        ),
        category: "accessories",
        price: rub(1500),
        tags: ["poster", "art", "tour"],
        available: true,
      },
      75,
    ),
    item(
      {
        id: "phone-case-leaf",
        title: "Phone Case — Leaf Pattern",
        description: sentences(
          "A slim matte phone case with the leaf pattern from the album artwork.",
          "Available for most recent iPhone and Android models; pick yours on the shop page.",
        ),
        category: "accessories",
        price: rub(1900),
        tags: ["phone-case", "leaf"],
        available: true,
      },
      60,
    ),
    item(
      {
        id: "sticker-pack",
        title: "Sticker Pack",
        description: "Ten waterproof vinyl stickers with lyrics, doodles and the band's logo.",
        category: "accessories",
        price: rub(450),
        tags: ["stickers"],
        available: true,
      },
      30,
    ),
    item(
      {
        id: "gift-card-rub-3000",
        title: "Gift Card — 3 000 ₽",
        description: sentences(
          "A digital gift card for the official shop, delivered by email with a personal note.",
          "Valid for one year on music, merch and concert tickets.",
        ),
        category: "tickets",
        price: rub(3000),
        tags: ["gift-card", "gift"],
        available: true,
      },
      100,
    ),
    item(
      {
        id: "gift-card-eur-30",
        title: "Gift Card — €30",
        description: sentences(
          "The same digital gift card for friends abroad, priced in euros.",
          "A lovely present before the Berlin show.",
        ),
        category: "tickets",
        price: eur(30),
        tags: ["gift-card", "gift", "international"],
        available: true,
      },
      14,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------------
// Blog

const TOUR_BODY = `AloeVera are going back on the road, and this time the tour starts close to home. The
band will play Moscow and Saint Petersburg next month, and a few weeks later they cross the border for a
long-awaited show in Berlin.

## Where to see them

- **Moscow** — a full evening concert with the new arrangements the band has been working on in the
  studio.
- **Saint Petersburg** — three days later, with a string quartet joining for the second half.
- **Berlin** — the first show abroad in a long time, for everyone who has been asking in the forum.

All three concerts are listed in the **Events** tab. Tap *I'm going* on an event and you will see who
else from the community is going too — a great way to find a company for the evening.

## Tickets

Tickets are sold by the venues through the band's official ticket partner; the app simply links out.
We never ask for card details inside Harmony Meet, so please ignore anyone who does.

See you at the front row — or at the merch stand, where the new tour posters will make their debut.`;

const MATCHING_BODY = `Lots of you have asked how Harmony Meet decides whose profile to show you next.
Here is the short, honest version.

## It starts with what you share

Your suggestions are built from what you chose to put in your profile: your favourite AloeVera songs,
the events you are going to, your city and what you are looking for — friendship, a concert buddy or
a date. People who share more of these with you appear higher in your list.

## A match needs two yeses

Liking someone is private. Only when both of you like each other does it become a match, and only
then can you start a chat. Nobody sees who skipped them.

## Events make it easier

If you both tapped *I'm going* on the same concert or meetup, we show that on the profile card. Many
of our favourite stories started with "see you at the merch stand?".

## What we do not do

We do not sell your data, we do not rank people by looks, and we do not show your exact location —
only the city you chose. You can hide your profile at any time in **Settings → Privacy**.

If something feels off about your suggestions, tell us in the *App feedback* section of the forum.
We read every thread.`;

const SAFETY_BODY = `Meeting someone from the app for the first time should feel exciting, not
stressful. Here is the checklist our community team recommends.

**Meet in public.** A café near the venue, a park in daylight or the concert itself — somewhere with
other people around. Skip the "come over to listen to my vinyl" invitations until you know each other.

**Tell a friend.** Share who you are meeting, where and when. It takes a minute and it matters.

**Get there and back on your own.** Plan your own route home, and keep your phone charged. A power
bank fits in every tote bag.

**Keep personal details for later.** Your home address, workplace and financial details can wait.
Nobody genuine will pressure you for them.

**Trust your gut.** If something feels wrong, it is fine to leave — no explanation needed. You can
also block and report a profile right from the chat; reports go to a real person on our team.

Have a wonderful evening, and may the setlist be kind to you both.`;

const STORY_BODY = `Alina had come to the concert in Kazan alone. Her friends had cancelled at the last
minute, and she was standing in the long queue outside the hall, a little sad and a little cold.

Timur was three people behind her. He had seen her profile in Harmony Meet that morning — they had
both tapped *I'm going* on the same event and shared the same favourite song — but he was too shy to
write first.

"Then the queue stopped moving, and somebody started singing that exact song," Alina remembers.
"Half the queue joined in. He was singing the loudest, so I turned around and said hi."

They spent the concert side by side, argued about the encore over tea afterwards, and matched in the
app on the tram home. A year later, they are organising the Kazan fan meetups together.

We love stories like this one. If you met your friend, partner or concert crew through the app,
write to us — with your permission, we would love to share it here.`;

const FORUM_BODY = `Chats are great for talking to your matches, but some conversations belong to
everyone. That is why the community forum is now open in the app.

We are starting with five sections:

1. **Introductions** — say hello and tell us which song brought you here.
2. **Music & lyrics** — albums, live versions, lyrics and their translations.
3. **Meetups & travel** — plan meetups, share rides and find a place to stay near the venue.
4. **App feedback** — ideas, bugs and wishes for Harmony Meet.
5. **Off-topic** — books, pets, tea and everything else.

A few simple rules: be kind, no hate speech, no spam, and no personal details of other people. The
moderators are fans too — help them by reporting posts that cross the line.

Come say hi in the pinned welcome thread!`;

const HOST_BODY = `Some of the warmest moments in this community happen far away from the stage: a dozen
fans with tea and a guitar, talking about songs until the café closes. Here is how to host a meetup
yourself.

## Pick a simple format

A listening evening, a walk, a picnic, a board-game night — keep it low-key for the first time.
Choose a public place that is easy to reach and where nobody has to buy expensive tickets.

## Create the event

Post it in *Meetups & travel* on the forum and send the details to our team; we add community meetups
to the **Events** tab so that fans in your city see them. Free meetups are always welcome.

## Keep it small and friendly

Ten to thirty people is a great size: everybody gets to talk, and nobody gets lost. Greet newcomers
personally — for many of them it is the first time they meet other fans.

## Look after each other

Agree on a couple of ground rules, make sure everyone knows how to get home, and remember that the
app's reporting tools work for meetups too.

Send us photos afterwards. We might feature your meetup on the blog!`;

function blogPosts(daysFrom: (days: number, hour?: number) => string): BlogPost[] {
  const cover = (id: string): string => cdn(`blog/${id}.jpg`);
  return [
    {
      id: "aloevera-on-tour-moscow-petersburg-berlin",
      title: "AloeVera on tour: Moscow, Saint Petersburg and Berlin",
      summary: "Three cities, new arrangements and a first show abroad in a long time. Here is what we know.",
      body: TOUR_BODY,
      author: "Harmony Meet team",
      tags: ["tour", "concerts", "news"],
      coverImageUrl: cover("aloevera-on-tour-moscow-petersburg-berlin"),
      publishedAt: daysFrom(-4, 9),
    },
    {
      id: "how-matching-works",
      title: "How matching works in Harmony Meet",
      summary: "Favourite songs, shared events and two yeses: an honest look at how suggestions are made.",
      body: MATCHING_BODY,
      author: "Harmony Meet product team",
      tags: ["app", "matching", "features"],
      coverImageUrl: cover("how-matching-works"),
      publishedAt: daysFrom(-20, 11),
    },
    {
      id: "first-date-safety-checklist",
      title: "First date? Our safety checklist",
      summary: "Five simple habits that make meeting someone from the app safer and more relaxed.",
      body: SAFETY_BODY,
      author: "Community safety team",
      tags: ["safety", "dating", "tips"],
      coverImageUrl: cover("first-date-safety-checklist"),
      publishedAt: daysFrom(-35, 12),
    },
    {
      id: "met-in-the-queue-a-story-from-kazan",
      title: "Met in the queue: a story from Kazan",
      summary: "A cancelled plan, a cold evening and a whole queue singing the same song.",
      body: STORY_BODY,
      author: "Community team",
      tags: ["community", "stories", "kazan"],
      coverImageUrl: cover("met-in-the-queue-a-story-from-kazan"),
      publishedAt: daysFrom(-48, 10),
    },
    {
      id: "the-community-forum-is-open",
      title: "The community forum is open",
      summary: "Five sections to start with, a few simple rules and a pinned thread to say hello.",
      body: FORUM_BODY,
      author: "Harmony Meet team",
      tags: ["forum", "community", "news"],
      coverImageUrl: cover("the-community-forum-is-open"),
      publishedAt: daysFrom(-61, 9),
    },
    {
      id: "how-to-host-a-fan-meetup",
      title: "How to host a fan meetup in your city",
      summary: "Tea, a guitar and a dozen fans: a short guide to organising your first community meetup.",
      body: HOST_BODY,
      author: "Community team",
      tags: ["meetups", "community", "guide"],
      coverImageUrl: cover("how-to-host-a-fan-meetup"),
      publishedAt: daysFrom(-85, 14),
    },
  ];
}

// ---------------------------------------------------------------------------------------------------
// Events

type Slot = (
  days: number,
  localHour: number,
  utcOffset: number,
  durationHours: number,
) => Pick<Event, "startsAt" | "endsAt">;

function events(slot: Slot): Event[] {
  const image = (id: string): string => cdn(`events/${id}.jpg`);
  return [
    {
      id: "online-listening-party-greenhouse",
      title: "Online listening party: Greenhouse, track by track",
      description: sentences(
        "Press play together with fans from all over the world and chat along in the live room.",
        "Between the songs, the band's sound engineer shares stories from the studio sessions.",
      ),
      category: "online",
      city: "Online",
      venue: "Harmony Meet live room",
      address: "",
      ...slot(3, 20, MSK, 2),
      capacity: 3000,
      price: null,
      imageUrl: image("online-listening-party-greenhouse"),
      externalUrl: null,
    },
    {
      id: "kazan-fan-meetup-tea-and-songs",
      title: "Kazan fan meetup: tea and songs",
      description: sentences(
        "A cosy evening for fans in Kazan: tea, a guitar going around the circle and lots of talking.",
        "Newcomers are very welcome — look for the green scarf at the entrance.",
      ),
      category: "meetup",
      city: "Kazan",
      venue: "Teahouse on the Embankment",
      address: "Kremlyovskaya embankment 12, Kazan",
      ...slot(10, 18, MSK, 3),
      capacity: 40,
      price: null,
      imageUrl: image("kazan-fan-meetup-tea-and-songs"),
      externalUrl: null,
    },
    {
      id: "yekaterinburg-fan-walk",
      title: "Yekaterinburg fan walk and vinyl swap",
      description: sentences(
        "A relaxed walk along the city pond followed by a vinyl and merch swap in a friendly café.",
        "Bring records you no longer play and leave with something new.",
      ),
      category: "meetup",
      city: "Yekaterinburg",
      venue: "Plotinka, meeting point at the clock",
      address: "Lenina avenue 30, Yekaterinburg",
      ...slot(17, 14, YEKT, 4),
      capacity: 35,
      price: null,
      imageUrl: image("yekaterinburg-fan-walk"),
      externalUrl: null,
    },
    {
      id: "aloevera-live-moscow",
      title: "AloeVera live in Moscow",
      description: sentences(
        "The tour opens at home with a full evening concert and brand-new arrangements of old favourites.",
        "Doors open an hour before the show; the merch stand opens with them.",
      ),
      category: "concert",
      city: "Moscow",
      venue: "Riverside Hall",
      address: "Sadovnicheskaya street 24, Moscow",
      ...slot(24, 19, MSK, 3),
      capacity: 2500,
      price: rub(3500),
      imageUrl: image("aloevera-live-moscow"),
      externalUrl: `${TICKETS}/aloevera-live-moscow`,
    },
    {
      id: "aloevera-live-saint-petersburg",
      title: "AloeVera live in Saint Petersburg",
      description: sentences(
        "The band returns to Saint Petersburg, with a string quartet joining them for the second half.",
        "Expect a long encore — this city always asks for one.",
      ),
      category: "concert",
      city: "Saint Petersburg",
      venue: "Northern Lights Club",
      address: "Ligovsky avenue 50, Saint Petersburg",
      ...slot(27, 20, MSK, 3),
      capacity: 1800,
      price: rub(3200),
      imageUrl: image("aloevera-live-saint-petersburg"),
      externalUrl: `${TICKETS}/aloevera-live-saint-petersburg`,
    },
    {
      id: "novosibirsk-songwriting-workshop",
      title: "Songwriting workshop in Novosibirsk",
      description: sentences(
        "A hands-on afternoon about turning a feeling into a song: melody, lyrics and simple arrangements.",
        "Bring an instrument if you play one; a notebook is enough if you don't.",
      ),
      category: "workshop",
      city: "Novosibirsk",
      venue: "Akademgorodok Culture Centre, room 3",
      address: "Morskoy avenue 13, Novosibirsk",
      ...slot(38, 13, NOVT, 4),
      capacity: 25,
      price: rub(1500),
      imageUrl: image("novosibirsk-songwriting-workshop"),
      externalUrl: null,
    },
    {
      id: "aloevera-live-berlin",
      title: "AloeVera live in Berlin",
      description: sentences(
        "The first show abroad in a long time, for the growing community of fans in Germany and beyond.",
        "The set will be sung in Russian, with English translations of the lyrics on the screen.",
      ),
      category: "concert",
      city: "Berlin",
      venue: "Spreeufer Halle",
      address: "Am Flutgraben 5, 12435 Berlin",
      ...slot(60, 20, CET, 3),
      capacity: 1200,
      price: eur(35),
      imageUrl: image("aloevera-live-berlin"),
      externalUrl: `${TICKETS}/aloevera-live-berlin`,
    },
    {
      id: "tbilisi-harmony-festival",
      title: "Harmony Festival Tbilisi",
      description: sentences(
        "Three days of music in the hills above Tbilisi, with AloeVera headlining the closing night.",
        "Camping, food from local families and daily community meetups at the Harmony Meet tent.",
      ),
      category: "festival",
      city: "Tbilisi",
      venue: "Turtle Lake Park",
      address: "Turtle Lake, Vake district, Tbilisi",
      ...slot(95, 14, TBS, 58),
      capacity: 5000,
      price: usd(60),
      imageUrl: image("tbilisi-harmony-festival"),
      externalUrl: `${TICKETS}/tbilisi-harmony-festival`,
    },
    {
      id: "moscow-release-party",
      title: "Release party: Live at Home",
      description: sentences(
        "We celebrated the release of the live album with a DJ set of rarities and a surprise acoustic set.",
        "Thank you to everyone who came and danced until closing time!",
      ),
      category: "party",
      city: "Moscow",
      venue: "Greenhouse Bar",
      address: "Pokrovka street 17, Moscow",
      ...slot(-6, 21, MSK, 4),
      capacity: 300,
      price: rub(1000),
      imageUrl: image("moscow-release-party"),
      externalUrl: null,
    },
    {
      id: "saint-petersburg-picnic-meetup",
      title: "Saint Petersburg picnic meetup",
      description: sentences(
        "Blankets, sandwiches and a portable speaker playing the band's B-sides in the park.",
        "Twenty fans came, and at least two new concert crews were formed.",
      ),
      category: "meetup",
      city: "Saint Petersburg",
      venue: "Yelagin Island, near the main lawn",
      address: "Yelagin Island 4, Saint Petersburg",
      ...slot(-12, 13, MSK, 4),
      capacity: 20,
      price: null,
      imageUrl: image("saint-petersburg-picnic-meetup"),
      externalUrl: null,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------
// Forum

const FORUM_SECTIONS: ForumSection[] = [
  {
    id: "introductions",
    title: "Introductions",
    description: "New here? Say hello and tell us which song brought you to the community.",
    order: 0,
  },
  {
    id: "music",
    title: "Music & lyrics",
    description: "Albums, live versions, lyrics, translations and everything you hear between the lines.",
    order: 1,
  },
  {
    id: "meetups-travel",
    title: "Meetups & travel",
    description: "Plan meetups, share rides to concerts and find a place to stay near the venue.",
    order: 2,
  },
  {
    id: "app-feedback",
    title: "App feedback",
    description: "Ideas, bugs and wishes for Harmony Meet. The team reads every thread.",
    order: 3,
  },
  {
    id: "off-topic",
    title: "Off-topic",
    description: "Books, pets, tea, films and everything else fans like to talk about.",
    order: 4,
  },
];

const U = USERS;

const TOPICS: TopicSpec[] = [
  // Introductions
  {
    id: "welcome-to-the-forum",
    sectionId: "introductions",
    title: "Welcome to the forum — please read first",
    by: U.team,
    daysAgo: 60,
    pinned: true,
    replies: [
      reply(U.lena, 2, "So happy this exists! Hi everyone from Moscow 🌿"),
      reply(
        U.sasha,
        5,
        "Finally a place to talk about the band that isn't a chaotic group chat. Hello from Piter!",
      ),
      reply(
        U.berlin,
        30,
        "Greetings from Berlin. There are more of us here than you would think —",
        "let's organise something before the concert.",
      ),
      reply(
        U.team,
        31,
        "@berlin_aloe great idea — the *Meetups & travel* section is the perfect place for it.",
      ),
    ],
  },
  {
    id: "hello-from-kazan",
    sectionId: "introductions",
    title: "Hello from Kazan!",
    by: U.kazan,
    daysAgo: 21,
    replies: [
      reply(U.olya, 3, "Welcome! Kazan meetups are legendary, I keep hearing about them."),
      reply(U.lena, 6, "Hi! Which album was your first?"),
      reply(
        U.kazan,
        8,
        "Live at Home, on a very old CD player in my grandmother's kitchen. Still my favourite.",
      ),
    ],
  },
  {
    id: "which-song-brought-you-here",
    sectionId: "introductions",
    title: "Which song brought you here?",
    by: U.lena,
    daysAgo: 9,
    replies: [
      reply(
        U.guitar,
        1,
        "The quiet acoustic one that closes the live album. I learned it on guitar the same night.",
      ),
      reply(
        U.tamar,
        4,
        "A friend played me the title track on a road trip through Georgia. I was hooked by the chorus.",
      ),
      reply(U.nik, 20, "Honestly? A random recommendation in a playlist. Best algorithm mistake ever."),
    ],
  },

  // Music & lyrics
  {
    id: "favourite-lyrics-lines",
    sectionId: "music",
    title: "Your favourite lyrics lines (with translations)",
    by: U.sasha,
    daysAgo: 30,
    replies: [
      reply(
        U.berlin,
        2,
        "Translating these for my German friends is so hard — the wordplay just disappears.",
        "Any tips?",
      ),
      reply(
        U.sasha,
        4,
        "Translate the image, not the words. It works better than a literal translation every time.",
      ),
      reply(
        U.moss,
        26,
        "The line about the kettle and the window always makes me cry a little. Such a simple picture.",
      ),
      reply(U.tamar, 50, "I started learning Russian because of these lyrics. Slowly, but it's working!"),
    ],
  },
  {
    id: "greenhouse-vinyl-pressing",
    sectionId: "music",
    title: "Greenhouse vinyl: how does your pressing sound?",
    by: U.dima,
    daysAgo: 14,
    replies: [
      reply(U.lena, 3, "Mine is very quiet, no crackle at all. The bass on side B is gorgeous."),
      reply(
        U.nik,
        9,
        "Slight warp on my copy, but the shop replaced it within a week. Very friendly support.",
      ),
      reply(U.dima, 10, "Good to know the replacement was easy. Enjoy the new one!"),
    ],
  },
  {
    id: "learning-the-songs-on-guitar",
    sectionId: "music",
    title: "Learning the songs on guitar",
    by: U.guitar,
    daysAgo: 5,
    replies: [
      reply(U.coder, 2, "Capo on the second fret for most of the live album, as far as I can tell."),
      reply(
        U.guitar,
        3,
        "That explains why it never sounded right!",
        "Thank you — I'll post a chord sheet once I've checked it.",
      ),
    ],
  },

  // Meetups & travel
  {
    id: "going-to-the-berlin-show",
    sectionId: "meetups-travel",
    title: "Going to the Berlin show? Let's meet before it",
    by: U.berlin,
    daysAgo: 12,
    replies: [
      reply(U.tamar, 4, "Flying in from Tbilisi for it! Count me in for a pre-concert dinner."),
      reply(U.sasha, 7, "Still checking visas and flights, but I really hope to make it."),
      reply(
        U.berlin,
        28,
        "I'll create an event in the app once we pick a place. Something near the venue, cheap and cosy.",
      ),
    ],
  },
  {
    id: "kazan-meetup-planning",
    sectionId: "meetups-travel",
    title: "Kazan meetup: planning thread",
    by: U.kazan,
    daysAgo: 8,
    replies: [
      reply(U.olya, 2, "Can we do a guitar circle again? Last time was wonderful."),
      reply(U.kazan, 3, "Definitely. The teahouse has agreed to give us the back room for the evening."),
      reply(U.nik, 30, "Too far from Novosibirsk this time, but please post photos!"),
    ],
  },
  {
    id: "tbilisi-festival-where-to-stay",
    sectionId: "meetups-travel",
    title: "Harmony Festival Tbilisi: where to stay?",
    by: U.tamar,
    daysAgo: 4,
    replies: [
      reply(
        U.tamar,
        1,
        "Local tip: guesthouses in Vake are a short taxi ride from the lake.",
        "Book early — the festival weekend fills up fast.",
      ),
      reply(U.moss, 20, "Is camping at the festival comfortable enough for three nights?"),
    ],
  },

  // App feedback
  {
    id: "matching-by-favourite-songs",
    sectionId: "app-feedback",
    title: "Matching by favourite songs — thoughts",
    by: U.coder,
    daysAgo: 18,
    replies: [
      reply(U.lena, 2, 'I love it. Half of my chats start with "wait, you like that song too?"'),
      reply(U.olya, 5, "Could we pick more than five favourite songs? Choosing is painful."),
      reply(
        U.team,
        24,
        "Thanks for the feedback! Raising the limit is on our list for one of the next updates.",
      ),
      reply(U.coder, 26, "Great news, thank you for listening."),
    ],
  },
  {
    id: "dark-mode-request",
    sectionId: "app-feedback",
    title: "Dark mode, please?",
    by: U.moss,
    daysAgo: 11,
    replies: [
      reply(U.guitar, 6, "+1, I mostly open the app late at night after concerts."),
      reply(U.team, 30, "Heard you both — dark mode is being designed right now. Stay tuned!"),
    ],
  },
  {
    id: "beta-known-issues",
    sectionId: "app-feedback",
    title: "Beta: known issues (resolved)",
    by: U.team,
    daysAgo: 45,
    locked: true,
    replies: [
      reply(U.dima, 4, "Chat notifications arrive twice on my phone, is that known?"),
      reply(
        U.team,
        9,
        "Yes, it's fixed in the latest version. Everything here is resolved, so we're locking the thread.",
      ),
    ],
  },

  // Off-topic
  {
    id: "what-are-you-reading",
    sectionId: "off-topic",
    title: "What are you reading right now?",
    by: U.moss,
    daysAgo: 16,
    replies: [
      reply(U.sasha, 3, "A collection of short stories about Saint Petersburg courtyards. Very atmospheric."),
      reply(U.coder, 12, "A book about the history of sound recording — surprisingly gripping."),
      reply(U.moss, 14, "Adding both to my list, thank you!"),
    ],
  },
  {
    id: "pets-of-the-fandom",
    sectionId: "off-topic",
    title: "Pets of the fandom",
    by: U.lena,
    daysAgo: 6,
    replies: [
      reply(U.dima, 1, "My cat sleeps on the record player lid. She has clearly chosen her favourite album."),
      reply(U.olya, 5, "Our dog howls along with the chorus of the title track. Every single time."),
      reply(U.kazan, 22, "A parrot that whistles the intro. I'm not joking, I'll post a video."),
    ],
  },
];

function buildForum(nowMs: number): { topics: ForumTopic[]; replies: ForumReply[] } {
  const topics: ForumTopic[] = [];
  const replies: ForumReply[] = [];
  for (const spec of TOPICS) {
    const createdMs = nowMs - spec.daysAgo * DAY_MS;
    let lastActivityMs = createdMs;
    spec.replies.forEach((r, index) => {
      const replyMs = createdMs + r.after * HOUR_MS;
      if (replyMs > nowMs) throw new Error(`seed reply ${index + 1} of "${spec.id}" lies in the future`);
      lastActivityMs = Math.max(lastActivityMs, replyMs);
      replies.push({
        id: `${spec.id}-reply-${index + 1}`,
        topicId: spec.id,
        authorId: r.by.id,
        authorName: r.by.name,
        body: r.body,
        createdAt: iso(replyMs),
      });
    });
    topics.push({
      id: spec.id,
      sectionId: spec.sectionId,
      title: spec.title,
      authorId: spec.by.id,
      authorName: spec.by.name,
      createdAt: iso(createdMs),
      lastActivityAt: iso(lastActivityMs),
      replyCount: spec.replies.length,
      pinned: spec.pinned ?? false,
      locked: spec.locked ?? false,
    });
  }
  return { topics, replies };
}
