"""The words of danger: what `DangerPatterns` and the recall rules look for, English and Spanish.

Each entry is (concern, pattern, unless): the pattern finds a danger happening now; `unless`
marks the same words used for something else ('smoke grey paint', 'a fire extinguisher
mount', 'the cigarette smoke smell from the last owner').
"""

from __future__ import annotations

import re

_FLAGS = re.IGNORECASE

_RAW: list[tuple[str, str, str | None]] = [
    (
        "fire or smoke",
        r"\b(fire|flames?|smok(e|ing|ey)|sparks?|sparking|melt(ed|ing)"
        r"|burning (\w+ ){0,2}smell|smells? (\w+ ){0,2}(of |like )?burn(ing|t)|burnt smell"
        # Spanish: humo, fuego, llamas, huele a quemado, se derritió
        r"|humo|fuego|llamas|en llamas|incendi\w*|(huele|olor) a quemado|quemad[oa]s?|se derriti\w*"
        r"|se incendi\w*|(se )?prendi\w* fuego|glow(s|ing)? (bright )?(red|orange)|red[- ]hot"
        r"|thermal (runaway|event|warning)|chispas?)\b",
        r"\b(fire extinguisher|extintor|smoke (grey|gray|color|paint|metallic)"
        r"|(cigarette|cigar|tobacco|cigarro|cigarrillo|tabaco)s? (smoke|smell|humo|olor)"
        r"|smoke smell from the (last|previous) owner|smoked in|no smok|fire ?wall|campfire"
        r"|fire blankets?|smoke (detector|alarm)s?|(fire|flame) red"
        r"|(previous|last|old|former) owner (was a heavy |was a )?smoke[dr]?"
        r"|(smoke|smoking) (smell )?out of|smoking in (my|the|a) "
        r"|(batteries|evs|cars|vehicles|lithium \w+) (can|could|do|will) (\w+ )?catch fire"
        r"|(likely|prone) to catch fire|(evs|electric (cars|vehicles)|batteries) (\w+ ){0,4}fires"
        r"|(autos|coches|carros|veh[ií]culos) el[eé]ctricos"
        r"|fire ?(truck|station)s?|spark ?plugs?|bujías?)\b",
    ),
    (
        "fuel, exhaust or chemical smell or leak",
        r"\b(smell(s|ing)? (\w+ ){0,2}(of |like )?(fuel|gas|gasoline|petrol|exhaust|fumes|chemical)"
        r"|(fuel|gas|gasoline|petrol|raw fuel|exhaust) (smell|odou?r|fumes?|leak)"
        r"|(sweet|chemical|acrid) (\w+ )?(smell|odou?r)|fumes (in|inside)|carbon monoxide"
        r"|leak(s|ing)? (fuel|gas|gasoline|petrol|coolant everywhere)|fuel (is )?leaking"
        r"|hiss(ing)? (and|&) pop(ping)?|pop(ping)? (and|&) hiss(ing)?"
        r"|battery (\w+ ){0,4}(swell\w*|swollen|bulging|hissing|smoking)"
        # Spanish: huele a gasolina / a químico, fuga de gasolina, gases del escape
        r"|puddle of (gas|fuel|gasoline)|dripping (gas|fuel)|(gas|fuel) (is )?dripping"
        r"|dizzy|light-?headed|nause\w+|(i |we )?(got|get|getting) (a )?(shock|shocked|zapped)"
        r"|high[- ]voltage (warning|fault|malfunction|leak)"
        r"|(huele|olor) a (gasolina|combustible|qu[ií]mico|gas|escape)"
        r"|fuga de (gasolina|combustible)"
        r"|maread\w+"
        r"|gases? del escape)",
        r"\b(gas (cap|station|mileage|tank size)|fuel (economy|door|cap|type))\b",
    ),
    (
        "brakes",
        r"\b(brakes? (\w+ ){0,2}(failed|fail(ing)?|not working|don'?t work|gone|went out"
        r"|stopped working|barely (grab|work|stop|slow)"
        r"|(feel|feels|felt|went|go|is|are) (soft|spongy|mushy)"
        r"|grind\w*|lock(ed|ing|s)? up)|grinding (\w+ ){0,2}(when|while) (i )?brak\w*"
        r"|brake (warning )?light (\w+ ){0,3}(is on|came on|stays on|flashing)"
        r"|no brakes|brake pedal (\w+ ){0,3}(sank|sinks|sinking|went|goes|dropped|drops|floor"
        r"|soft|spongy)|pedal (\w+ ){0,4}(to|sinks to|near) the floor"
        r"|(can'?t|cannot|couldn'?t|barely|hardly) (stop|brake)|barely (stops|brakes|grab)"
        r"|push (really |very |extra )?hard to stop|metal on metal"
        r"|lost (the )?(brakes|brake assist|power brakes)"
        r"|cruise( control)? (\w+ ){0,2}(won'?t|wont|will not|doesn'?t|does not)"
        r" (disengage|cancel|turn off)"
        # Spanish: los frenos no responden / fallan, el pedal se va al fondo
        r"|frenos? (no (responde|responden|funciona|funcionan|sirve|sirven)|fall\w+)"
        r"|pedal (\w+ ){0,3}(hasta )?el fondo|no (puedo )?frenar|no frena|metal con metal)",
        r"\b(went away|goes away|go away|first (few )?stops|car ?wash|in the morning|brake dust)\b",
    ),
    (
        "steering",
        r"\b(steering (\w+ ){0,3}(failed|locked|locks|lock(ed)? up|stiff|heavy|went|gone"
        r"|not working|quit|cut out|cuts out|clunks?|pulls? hard)"
        r"|power steering (\w+ ){0,2}(quit|failed|went out|cut out|gone)"
        r"|lost (the )?power steering"
        r"|(steering )?assist (\w+ ){0,2}(cut|cuts|went) out|lost (the |all )?steering"
        r"|can'?t (steer|turn the wheel)|couldn'?t (steer|turn (it|the wheel))|cannot steer"
        r"|lost control|wheel locked up"
        # Spanish: perdí la dirección, el volante se trabó
        r"|perd\w* (la )?direcci[oó]n|volante (se )?(trab|bloque)\w*|direcci[oó]n (muy )?dura"
        r"|(trab|bloque)\w+ el volante)",
        r"\b(steering wheel heater|heated steering)\b",
    ),
    (
        "red warning light or overheating",
        # A red warning light that is on now (not "what does the red light mean?").
        r"\b(red (\w+ ){0,3}(light|lamp|indicator|warning|symbol)s? (\w+ ){0,3}"
        r"(on|lit|came on|come on|popped up|flashing|blinking|stays on|won'?t go)"
        r"|red (oil|battery|brake|coolant|temperature|temp|engine)\b"
        r"|oil (pressure )?(can |warning )?light (\w+ ){0,2}(on|came on|popped up|flashing)"
        # Overheating now ("it's overheating", "the engine overheated"), not "does the
        # battery overheat when fast charging?".
        r"|((is|it'?s|keeps|kept|started|starts|just|has) |(my|the|our) (\w+ )?)"
        r"overheat(ing|ed)|overheating (now|again|while)"
        r"|(drive system|engine|battery|motor) (is )?(too |very )?hot\b"
        r"|(says|shows|display(s|ing)?|warning|message|alert) (\w+ ){0,3}overheat\w*"
        r"|temp(erature)? (gauge|warning|needle|light) (\w+ ){0,4}(in the red|red|on|pegged)"
        r"|steam(ing)? (\w+ ){0,3}(hood|engine|bonnet)|steam (is )?(pouring|billowing|coming)"
        # Spanish: la aguja de temperatura en rojo, sale vapor del cofre, luz roja
        r"|(aguja|temperatura) (\w+ ){0,3}en (el )?rojo|vapor (\w+ ){0,2}(cofre|motor|capó)"
        r"|se (me )?calent\w+ el motor|coolant (is )?boiling"
        r"|(luz|testigo) roj[oa]|se (est[aá] )?sobrecalent\w*)",
        r"\b(difference between|what does|what do (the|these|those|they|red|all)|what is|what's"
        r"|studying|meaning of)\b",
    ),
    (
        "power lost while driving",
        r"\b((engine|car|vehicle|it|truck|van|suv) (just )?"
        r"(stalled|died|dies|cut out|lost power)"
        r"|(stall(s|ed|ing)?|died|shut off|lost power|losing power) (\w+ ){0,4}"
        r"(freeway|highway|motorway|interstate|traffic|intersection|driving|merging|speed"
        r")|propulsion power (is )?reduced|power (is )?reduced"
        r"|won'?t go (over|above|faster than) \d+|reduced power (mode|warning)"
        r"|(stop|pull over) (\w+ ){0,2}safely"
        r"|pull over (now|immediately)"
        r"|(hood|bonnet) (\w+ ){0,2}(flew|popped|came|swung) (up|open)|(hood|bonnet) opened"
        r"|(keeps|kept) (cutting out|stalling|dying|shutting (off|down))"
        r"|door (\w+ ){0,3}(opens|opened|popped open|flew open|came open) (\w+ ){0,3}"
        r"(while|when|at) (i was |i'?m |we were )?(driving|moving|\d+)"
        r"|door (\w+ ){0,2}(popped|flew) open|opens (by )?itself while"
        r"|se (me |le )?(ha )?calado|se (me |le )?abri\w+ (el cap[oó]|la puerta)"
        r"|cap[oó] se abri\w+"
        # Spanish: el motor se apagó mientras manejaba, perdió potencia
        r"|(motor|carro|coche|auto) se (me )?apag\w*|perdi\w* (la )?potencia)",
        r"\b(sem[aá]foros?|stop ?lights?|red lights?|start[- ]stop|idle stop|vuelve a arrancar"
        r"|restarts? (by )?itself|función)\b",
    ),
    (
        "wheel or tire coming apart",
        r"\b(wobbl\w+|lug nuts? (\w+ ){0,7}(loose|turn by hand|missing|came off|fell off)"
        r"|wheel (\w+ ){0,2}(came off|fell off|coming off|loose)|tread (is )?(peeling|separating"
        r"|coming off)|steel belts? (\w+ )?(showing|visible|exposed)|tire (blew|blowout|exploded)"
        r"|blowout|(snapped|broke|broken|cracked) (\w+ )?(control arm|axle|tie rod|ball joint"
        r"|spring|knuckle|wheel stud)|(control arm|axle|tie rod|ball joint) (\w+ )?(snapped|broke)"
        r"|(shak|vibrat)\w+ (\w+ ){0,3}(violently|really bad|so bad|like crazy)"
        r"|(se )?revent\w+|se (le )?(sali\w+|solt\w+) (la )?(rueda|llanta)"
        # Spanish: tuercas flojas, la llanta tambalea
        r"|tambale\w+|tuercas (\w+ ){0,3}(flojas|aflojaron|sueltas)|se aflojaron"
        r"|(rueda|llanta) (\w+ ){0,3}(bailando|baila|floja|suelta))\b",
        r"\bno (wobble|wobbling|vibration|shak\w+)\b",
    ),
    (
        "airbags",
        r"\b(air ?bags? (\w+ ){0,2}(deployed|went off|exploded|didn'?t deploy|did not deploy|blew)"
        r"|air ?bag (warning )?light (\w+ ){0,6}(on|flashing|stays on|ever since)"
        r"|bolsas? de aire (\w+ ){0,2}(se )?(activ|abri|explot|dispar)\w*)",
        r"\b((few|couple of) seconds|then (go|goes|went) (out|off)|bulb check|at start-?up)\b",
    ),
    (
        "crash or injury",
        # Not the names of features and ratings ("forward collision warning", "crash test
        # rating") nor "will fast charging hurt the battery": those are questions, not
        # emergencies.
        r"\b(crash(ed)?(?![- ](test|rating|avoidance|warning|alert|mitigation|notification"
        r"|detection|sensor|es into my car in a parking))"
        r"|(?<!pre-)collision(?![- ](warning|alert|avoidance|mitigation|coverage))"
        r"|accident|(hit|struck) (a|another|the|some) (\w+ )?(car|tree|wall|pedestrian|deer|pole"
        r"|curb"
        r"|pothole)|rear[- ]ended|t-?boned|bumped the car|rolled (forward|back(ward)?)"
        r"|(mov(ed|ing)|rolling|rolls) (\w+ ){0,2}(by itself|on its own)|won'?t stay in park"
        r"|accelerator (\w+ )?stuck|(gas|accelerator|throttle) (pedal )?(\w+ )?(stuck|sticks)"
        r"|into (a|the) (ditch|guardrail|median|river|lake)|on its (side|roof)"
        r"|(rolled|flipped) over"
        r"|(finger|hand|arm|head|leg)s? (\w+ ){0,3}(caught|stuck|trapped|pinched|crushed) in"
        r"|accelerat\w+ (\w+ ){0,2}(unintended|unintentional\w*|uncontrollabl\w+)"
        r"|(speed(s|ing)? up|accelerat\w+) (\w+ ){0,2}(by itself|on (its|it'?s) own)"
        r"|(i'?m|we'?re|i am|we are) (locked|trapped|stuck) (in|inside)"
        r"|se mueve sol[oa]|acelera sol[oa]|acelerador (\w+ ){0,2}(pegado|trabado|atorado)"
        r"|unintended acceleration|injur(y|ed|ies)"
        r"|hurt(?! (the |my |its |your )?(battery|engine|motor|car|vehicle|paint|tires?|range))"
        r"|bleeding|ambulance|unconscious|headache"
        # Spanish: choque, accidente, herido
        r"|choqu\w+|choc\w+|accidente|herid[oa]s?|lastimad[oa]s?)\b",
        r"\b(sentry mode|dashcam|dash cam|if someone crashes|collision coverage|insurance"
        r"|in (a|the event of a) crash|crash test|crash (notification|detection|sensors?)"
        r"|warranty|garant[ií]a|(last|past) (year|month|winter|summer)|years? ago|el año pasado"
        r"|paint|(accident|crash) (history|report|record)|carfax|trade[- ]?in"
        r"|hace (\w+ )?(años|meses))\b",
    ),
    (
        "seat belt will not latch",
        r"\b((seat ?belts?|car ?seat|child seat|booster( seat)?) (\w+ ){0,4}"
        r"(won'?t|wont|doesn'?t|does not|will not|not|no longer) "
        r"(latch|buckle|lock|click|stay)\w*|(seat ?belt |belt )?buckle (\w+ ){0,2}(is )?broken"
        r"|cintur[oó]n (\w+ ){0,3}no (abrocha|engancha|traba|cierra)\w*)",
        None,
    ),
    (
        "a person or animal locked in",
        r"\b((kid|kids|child|children|baby|toddler|infant|dog|cat|pet|ni[ñn]o|ni[ñn]a|beb[eé]"
        r"|perro|perrito|gato|mascota|hij[oa])s? (\w+ ){0,8}(locked in|locked inside|trapped"
        r"|stuck (in|inside) (the |my )?(car|vehicle|truck|van|suv)"
        r"|left in (the |my )?(car|vehicle)"
        r"|encerrad\w+|se cerr\w+|adentro)|(locked|trapped) (\w+ ){0,4}(kid|child|baby|dog|pet)"
        r"|se cerr\w+ con (la )?llave adentro)\b",
        None,
    ),
]

NOT_HAPPENING_NOW = re.compile(
    # The danger words about a car's history, a purchase being researched, a bill, a product
    # or how a feature works: 'was it ever in an accident?', 'does it have fire suppression?
    # researching before I buy', 'dispute the charge for the blowout repair', 'do they make a
    # carbon monoxide detector', 'does it brake if it thinks I'm about to crash?'.
    r"\b(ever (been |had )?(in |had )?an? (accident|crash|collision|fire|flood)"
    r"|accident (history|report)|vehicle history|carfax|autocheck"
    r"|research(ing)?\b|before (i|we) (buy|purchase)|thinking (of|about) (buying|getting)"
    r"|shopping (for|around)|dispute|overcharg\w*|overpriced|refund|reimburs\w*|invoice"
    r"|do they (make|sell)|(recommend|suggest) (a|an|any|some) "
    r"|(if|when) it (thinks|detects|senses)|how does (the |my |it )?(\w+ )?(work|know|detect))",
    _FLAGS,
)

DANGER_PATTERNS: list[tuple[str, re.Pattern[str], re.Pattern[str] | None]] = [
    (concern, re.compile(pattern, _FLAGS), re.compile(unless, _FLAGS) if unless else None)
    for concern, pattern, unless in _RAW
]

RECALL_WORD = re.compile(
    r"\b(recalls?|recalled|campaign|(recall|safety) (notice|letter)|park[- ]outside notice"
    r"|llamado a revisi[oó]n|retiro del mercado)\b",
    _FLAGS,
)
USE_NOW = re.compile(
    # 'is it safe to drive', 'ok to keep charging', 'can I still park in the garage', 'bad
    # idea to go', 'should I take the other car', 'puedo seguir usándola'.
    r"\b((safe|ok|okay|alright|all right|fine|bad idea|good idea|risky|dangerous) (\w+ ){0,6}"
    r"(driv|go|us|park|charg|tow|haul|keep|tak)\w*"
    r"|(can|could|should) (i|we|she|he|they) (\w+ ){0,3}(driv|keep|park|charg|tow|haul|us"
    r"|tak|still)\w*|is it (safe|ok|okay)|is that ok|before (the |it'?s )?fix"
    r"|(is|are) (it|the \w+|my \w+|this \w+|they) (\w+ )?(safe|ok|okay|risky|dangerous)"
    r"|how (risky|dangerous|safe|bad) is (it|that|this)|should (i|we) (stop|park it)"
    r"|park\w* (\w+ ){0,4}(outside|indoors|inside|underground|in (the|my|a) garage)"
    r"|(asking|asks|wants to know) (if|whether) (\w+ ){0,3}(can|should) (\w+ ){0,3}"
    r"(driv|park|charg|tow|us)\w*"
    r"|(puedo|podemos|puede|debo|es seguro) (\w+ ){0,4}(manejar|usar|cargar|dejar|seguir"
    r"|estacionar|remolcar|llevar)\w*)\b",
    _FLAGS,
)
SAFE_FRAMING = re.compile(
    # Use asked about as a risk, not as a how-to: 'is it safe to charge', 'ok to keep
    # driving', 'can I still park inside' (not 'can I charge from a wall outlet?').
    r"\b(safe|unsafe|ok|okay|alright|all right|fine|risky|risk|dangerous|danger|bad idea"
    r"|still|keep (on )?\w+ing|until|before (the |it'?s )?(fix|repair|remedy)|seguro|todav[ií]a"
    r"|sigo|seguir)\b",
    _FLAGS,
)
