import type { InjectionCategory } from '@keelson/contracts';

/**
 * Stage-1 injection rules. Each is a precompiled regular expression over the folded text (lower case,
 * confusables and leetspeak folded, see normalize.ts) with a weight in (0, 1): the chance on its own that a
 * text matching it is an attack. Scores combine as 1 - Π(1 - w) over the rules that match.
 *
 * The rules look for the *structure* of an attack (a verb of overriding aimed at instructions, a persona
 * switch aimed at the model, a request for the model's own prompt), never for topics, and each carries its
 * English and German forms plus the common Romance/Slavic forms of "forget all instructions". Weights were
 * set by hand against the development set and the hard negatives in libs/guard/data (docs/guard.md).
 */
export interface InjectionRule {
  id: string;
  category: InjectionCategory;
  weight: number;
  re: RegExp;
  /** Run on the NFKC text with its case kept (for rules that need capital letters); default the folded text. */
  raw?: boolean;
  /** Multiplier on the weight for content that is not the user's (tool results, memory, documents). */
  untrustedBoost?: number;
}

/** Up to n words between two parts of a pattern. */
const gap = (n: number) => `(?:[\\s,;:'"()-]+[^\\s]+){0,${n}}?[\\s,;:'"()-]+`;

const OVERRIDE_VERB_EN = '(?:ignore|ignoring|disregard|disregarding|forget|forgetting|drop|abandon|skip|override|overwrite|bypass|neglect|discard|erase|delete|remove|scrap|throw away|leave behind|set aside|put aside|stop following|no longer follow)';
const PRIOR_EN = '(?:all|any|every|your|previous|prior|above|earlier|preceding|foregoing|former|initial|original|system|given|provided)';
const INSTR_EN =
  '(?:instructions?|instructed|prompts?|rules?|directions?|directives?|guidelines?|orders?|commands?|tasks?|assignments?|context|information|programming|constraints?|restrictions?|policies|policy|filters?|safeguards?|guardrails?|training|articles?|documents?|thoughts|limitations?)';
const OVERRIDE_VERB_DE = '(?:vergiss|vergesst|vergessen sie|ignorier\\w*|missacht\\w*|überg(?:eh|eh)\\w*|uebergeh\\w*|verwirf|verwerfen sie|lösch\\w*|streich\\w*|lass\\w* (?:sie )?(?:alle|alles)|setze? \\w+ außer kraft)';
const INSTR_DE = '(?:anweisungen|anweisung|instruktionen|befehle|aufgaben|aufträge|auftrag|regeln|vorgaben|angaben|informationen|richtlinien|alles|anderen|gesagte|vorherige\\w*|bisherige\\w*|obige\\w*)';

const r = (s: string) => new RegExp(s, 'u');
const ri = (s: string) => new RegExp(s, 'iu');

export const INJECTION_RULES: readonly InjectionRule[] = [
  // --- instruction override ---
  { id: 'override.ignore_instructions', category: 'instruction_override', weight: 0.85, re: r(`\\b${OVERRIDE_VERB_EN}${gap(4)}${PRIOR_EN}${gap(3)}${INSTR_EN}\\b`) },
  { id: 'override.ignore_above', category: 'instruction_override', weight: 0.8, re: r(`\\b(?:ignore|disregard|forget)\\s+(?:(?:everything|all|what(?:'s| is| was)?\\s+(?:written|said))\\s+)?(?:above|(?:before|previous|prior|earlier)(?=\\s*(?:[,.!?;:]|$|and\\b|und\\b))|(?:that|this)\\s+before)|\\b(?:ignore|disregard|forget)\\s+(?:everything|all)\\s+(?:before|previous|prior|earlier|you\\s+know)\\b|\\b(?:ignore|disregard|forget)\\s+what\\s+you\\s+(?:know|were\\s+told|have\\s+been\\s+told)\\b|\\b(?:despite|regardless\\s+of)\\s+what\\s+you(?:'ve|\\s+have|\\s+were|\\s+are)?\\s+(?:been\\s+)?(?:told|instructed)\\b`) },
  { id: 'override.forget_everything', category: 'instruction_override', weight: 0.75, re: r(`\\b(?:forget|ignore|disregard)\\s+(?:about\\s+)?(?:everything|all(?:\\s+of\\s+it)?|it all)\\b`) },
  { id: 'override.instead', category: 'instruction_override', weight: 0.35, re: r(`\\binstead\\s+(?:output|print|say|write|respond|reply|answer|return|display)\\b`) },
  { id: 'override.new_task', category: 'instruction_override', weight: 0.6, re: r(`\\b(?:(?:now|here)\\s+(?:come|comes|follow|follows)\\s+(?:some\\s+|a\\s+few\\s+)?(?:new|further|more|additional|other)\\s+(?:tasks?|instructions?|orders?|rules?)|(?:new|further|additional)\\s+(?:tasks?|instructions?)\\s+(?:follow|are\\s+followed|are\\s+coming)|(?:focus|concentrate)\\s+(?:now\\s+)?on\\s+(?:your|the|a)\\s+new\\s+task|we\\s+(?:will\\s+)?start\\s+(?:over|again|from\\s+(?:the\\s+)?(?:front|scratch|beginning))|start\\s+(?:over|from\\s+scratch)\\s+with\\s+a\\s+new\\s+task)\\b`) },
  { id: 'override.your_instructions_now', category: 'instruction_override', weight: 0.75, re: r(`\\b(?:your\\s+(?:new\\s+)?(?:instructions|rules|task|orders)\\s+(?:are|is)\\s+now|your\\s+new\\s+(?:instructions|rules|task|orders)\\s+(?:are|is)\\s*:|change\\s+your\\s+(?:instructions|rules|behaviou?r|programming)|(?:new|updated|additional|revised)\\s+(?:system\\s+)?instructions?\\s*[:\\-]|from\\s+now\\s+on,?\\s+(?:you|your|always|only|answer|respond|reply|ignore))`) },
  { id: 'override.dont_answer_but', category: 'instruction_override', weight: 0.65, re: r(`\\b(?:do\\s+not|don'?t|dont|never)\\s+(?:answer|respond\\s+to|reply\\s+to|look\\s+(?:in|at))\\s+(?:this|the|that|any)\\s+(?:question|documents?|articles?|context)\\w*${gap(6)}(?:but|and|just|only|instead)\\b`) },
  { id: 'override.not_by_documents', category: 'instruction_override', weight: 0.6, re: r(`\\b(?:(?:and\\s+)?not\\s+(?:by|from|according\\s+to|based\\s+on)\\s+the\\s+(?:provided\\s+|given\\s+)?(?:articles?|documents?|context|sources?)|(?:disregard\\w*|ignor\\w*|without)\\s+(?:all\\s+)?(?:the\\s+)?(?:provided\\s+|given\\s+)?(?:articles?|documents?|context)\\s+(?:provided|given|and)|ignore\\s+all\\s+(?:provided\\s+)?(?:context|documents?|articles?))\\b`) },
  { id: 'override.praise_then_pivot', category: 'instruction_override', weight: 0.5, re: r(`\\b(?:well\\s+done|very\\s+(?:well\\s+)?(?:good|well\\s+done)|excellent\\s+(?:performance|work|job)|great\\s+job|simply\\s+great|that\\s+was\\s+(?:ok|good|great)|congratulations\\s+on\\s+your)\\b[^.!?]{0,60}[.!?]+\\s*(?:[^.!?]{0,60}[.!?]+\\s*)?(?:that\\s+is\\s+(?:enough|done)|(?:but\\s+)?now\\s+(?:come\\s+on|please|write|further|new|we|i\\s+(?:need|have))|now\\s+(?:i\\s+have\\s+)?a\\s+(?:great\\s+)?new)`) },
  { id: 'override.stop_command', category: 'instruction_override', weight: 0.5, re: r(`(?:^|[.!?]\\s+|\\b(?:attention|achtung)\\W+)(?:stop|stopp|halt)\\s*[:!,\\-]+\\s*(?:write|say|print|output|ignore|schreib\\w*|sag\\w*|ignorier\\w*|i\\s+(?:urgently\\s+)?need|ich\\s+ben[öo]tige)`) },
  { id: 'override.attention_stop', category: 'instruction_override', weight: 0.55, re: r(`\\b(?:attention|achtung|important|wichtig)\\s*[-:!,]+\\s*(?:stop|stopp)\\b`) },
  { id: 'override.additional_instruction', category: 'instruction_override', weight: 0.5, re: r(`(?:\\b(?:additional|extra|secret|hidden)\\s+instructions?\\s*[-:]|(?:\\\\n|\\n|[?.!])\\s*instructions?\\s*:\\s*\\w)`) },
  { id: 'override.de_forget', category: 'instruction_override', weight: 0.85, re: r(`\\b${OVERRIDE_VERB_DE}${gap(3)}${INSTR_DE}\\b`) },
  { id: 'override.de_deviating', category: 'instruction_override', weight: 0.75, re: r(`\\b(?:abweichend\\s+(?:zu|von)\\s+(?:den\\s+)?(?:vorherigen|bisherigen|obigen)|(?:nun|jetzt)\\s+folgen\\s+(?:neue|weitere)\\s+(?:aufgaben|anweisungen|befehle)|konzentriere\\s+dich\\s+(?:jetzt\\s+|nun\\s+)?auf\\s+(?:deine|die)\\s+neue\\s+aufgabe|aus\\s+dem\\s+kopf\\s+(?:zu\\s+)?streichen|(?:vorherigen|bisherigen)\\s+informationen[^.]{0,40}(?:hinter\\s+sich|irrelevant|nicht\\s+(?:ganz\\s+)?(?:großartig|wichtig|relevant))|fangen\\s+sie\\s+von\\s+vorne\\s+an)`) },
  { id: 'override.de_praise_pivot', category: 'instruction_override', weight: 0.45, re: r(`\\b(?:sehr\\s+gut(?:\\s+gemacht)?|gut\\s+gemacht|ausgezeichnet\\w*\\s+leistung|einfach\\s+großartig|herzlichen\\s+glückwunsch)\\b[^.!?]{0,60}[.!?]+\\s*(?:[^.!?]{0,80}[.!?]+\\s*)?(?:das\\s+(?:genügt|ist\\s+erledigt|reicht)|(?:aber\\s+)?(?:jetzt|nun)\\s+(?:komm|folgen|bitte|verfasse|schreib\\w*)|bitte\\s+bitte)`) },
  { id: 'override.multilingual_forget', category: 'instruction_override', weight: 0.85, re: r(`(?:\\b(?:olvid[ae]\\w*|ignor[ae]\\w*)\\s+(?:todo|todas|las\\s+instrucciones)|\\boubli(?:e|ez|er)\\s+(?:toutes?\\s+)?(?:les\\s+)?(?:instructions|consignes|tout)|\\bignorez\\s+(?:toutes?\\s+)?(?:les\\s+)?instructions|\\bzaboravi\\s+(?:sve|svе)|\\bdimentica\\s+(?:tutte|tutto|le\\s+istruzioni)|\\bignora\\s+(?:tutte|le\\s+istruzioni)|забуд\\p{L}*\\s+(?:все|всё|о\\s+всех|инструкц)|игнорир\\p{L}*\\s+(?:все|предыдущ|инструкц)|\\bvergeet\\s+(?:alle|alles)|\\besque[cç]a\\s+(?:todas|tudo))`) },
  { id: 'override.memorize_trigger', category: 'instruction_override', weight: 0.55, re: r(`\\b(?:(?:the\\s+)?(?:correct|right)\\s+(?:answer|response)\\s+is|die\\s+richtige\\s+antwort\\s+ist|was\\s+sie\\s+sich\\s+merken\\s+müssen|what\\s+you\\s+(?:need|have)\\s+to\\s+remember\\s+is)\\b`) },
  { id: 'override.say_phrase', category: 'instruction_override', weight: 0.3, re: r(`\\b(?:just|only|simply|nur)\\s+(?:say|output|print|write|reply|respond\\s+with|sagen?|schreibe?)\\b|\\brepeat\\s+after\\s+me\\b|\\bsay\\s+(?:yes|no)\\s*[.!]?\\s*$|\\b(?:say|state|tell\\s+me|include|write|print)\\s+(?:in\\s+your\\s+answer\\s+)?that\\s+(?:you\\s+(?:hate|love)|\\w+\\s+is\\s+the\\s+(?:best|worst|most|greatest))`) },

  { id: 'override.de_ignore_object_first', category: 'instruction_override', weight: 0.8, re: r(`\\b(?:die\\s+)?(?:obigen|vorherigen|bisherigen|vorangegangenen|vorangehenden)\\s+(?:ausführungen|anweisungen|instruktionen|befehle|aufgaben|informationen|angaben)\\s+(?:ignorieren|vergessen|missachten)`) },
  { id: 'override.new_challenge', category: 'instruction_override', weight: 0.45, re: r(`\\b(?:now\\s+(?:i\\s+have\\s+)?(?:a\\s+)?(?:great\\s+|new\\s+|another\\s+)+(?:challenge|task)\\s+for\\s+you|(?:jetzt|nun)\\s+habe\\s+ich\\s+eine\\s+(?:tolle\\s+)?neue\\s+(?:herausforderung|aufgabe))`) },
  { id: 'override.opinion_injection', category: 'instruction_override', weight: 0.5, re: r(`\\b(?:say|state|write|print|output|tell\\s+me|include|admit)\\s+(?:in\\s+your\\s+answer\\s+)?that\\s+you\\s+(?:hate|love|despise|support)\\b|\\bstate\\s+that\\s+[\\p{L}\\s-]{2,40}\\s+(?:is|are|was)\\s+the\\s+(?:best|worst|greatest|most\\s+\\w+)\\b`) },
  { id: 'override.shouted_instruction', category: 'instruction_override', weight: 0.5, raw: true, re: /[a-zäöüß?,]\s+(?:[A-ZÄÖÜ'!"]{2,}\s+){3,}[A-ZÄÖÜ'!"]{2,}\b(?=[\s\S]*[a-zäöüß])/u },

  // --- persona / jailbreak ---
  { id: 'persona.act_as', category: 'persona_jailbreak', weight: 0.55, re: r(`\\b(?:i\\s+want\\s+you\\s+to|you\\s+(?:will|shall|must|should)\\s+now|from\\s+now\\s+on,?\\s+(?:you\\s+will\\s+)?)\\s*(?:act|behave|function|serve|pose)\\s+as\\b|\\b(?:ich\\s+möchte,?\\s+dass\\s+(?:sie|du)\\s+als\\s+.{1,60}?\\s+(?:fungieren|agieren|auftreten)|(?:fungiere|agiere)\\s+als)\\b`) },
  { id: 'persona.act_as_system', category: 'persona_jailbreak', weight: 0.45, re: r(`\\b(?:act|behave|function)\\s+as\\s+(?:a|an|the)?\\s*(?:linux\\s+|unix\\s+|bash\\s+|python\\s+|sql\\s+|javascript\\s+)?(?:terminal|interpreter|shell|console|compiler)\\b|\\bexecute\\s+the\\s+following\\s+(?:command|code)\\b`) },
  { id: 'persona.act_as_start', category: 'persona_jailbreak', weight: 0.4, re: r(`^\\s*(?:act|behave)\\s+as\\s+(?:a|an|the)\\b`) },
  { id: 'persona.pretend_weak', category: 'persona_jailbreak', weight: 0.3, re: r(`\\b(?:pretend\\s+to\\s+be|roleplay|role-play|role\\s+play)\\b`) },
  { id: 'persona.pretend', category: 'persona_jailbreak', weight: 0.5, re: r(`\\b(?:pretend\\s+(?:that\\s+)?you\\s+(?:are|can|have|were)|imagine\\s+(?:that\\s+)?you\\s+(?:are|were)\\s+(?:a|an|the)|you\\s+are\\s+(?:now\\s+)?role-?playing|let'?s\\s+role-?\\s?play|stell\\s+dir\\s+vor,?\\s+(?:dass\\s+)?du\\s+(?:bist|wärst)|tu\\s+so,?\\s+als\\s+(?:ob|wärst))\\b`) },
  { id: 'persona.you_are_now', category: 'persona_jailbreak', weight: 0.6, re: r(`(?:^|[.!?:"]\\s*|\\b(?:ok(?:ay)?|now|and)\\W+)(?:now\\s+you\\s+are|you\\s+are\\s+now|from\\s+now\\s+on\\s+you\\s+are|you\\s+will\\s+be\\s+acting\\s+as|(?:jetzt|nun|ab\\s+jetzt)\\s+bist\\s+du|du\\s+bist\\s+(?:jetzt|nun|ab\\s+jetzt))\\b`) },
  { id: 'persona.you_are_name', category: 'persona_jailbreak', weight: 0.5, raw: true, re: /(?:^|[.!?]\s+)(?:You are|Du bist|Now you are|You're)\s+(?:the\s+|a\s+|an\s+)?(?!(?:a|an|the|not|so|very|right|wrong|correct|welcome|my|our|in|on|at|going|doing|being|able|here|there|sure|free|aware)\b)[A-Z][\p{L}-]+/u },
  { id: 'persona.stay_in_role', category: 'persona_jailbreak', weight: 0.5, re: r(`\\b(?:(?:stay|remain|keep|stays|remains)\\s+(?:fully\\s+|always\\s+)?in\\s+(?:their|your|his|her|the)\\s+(?:roles?|characters?)|(?:never|not|don'?t|do\\s+not)\\s+break\\s+(?:out\\s+of\\s+)?character|completely\\s+absorbed\\s+in\\s+(?:your|the)\\s+role|falling\\s+out\\s+of\\s+(?:the\\s+)?(?:figure|role|character)|(?:bleiben|bleibt)\\s+(?:immer\\s+)?in\\s+ihren\\s+rollen|gehst\\s+vollkommen\\s+in\\s+deiner\\s+rolle\\s+auf|aus\\s+der\\s+rolle\\s+(?:zu\\s+)?fallen)\\b`) },
  { id: 'persona.dan', category: 'persona_jailbreak', weight: 0.85, re: r(`\\b(?:dan\\s+mode|do\\s+anything\\s+now|developer\\s+mode\\s+(?:enabled|output)|(?:enable|activate)\\s+developer\\s+mode\\s+output|jailbreak\\s+(?:mode|prompt)|jailbroken\\s+(?:ai|assistant|mode|version|model)|you\\s+are\\s+(?:now\\s+)?jailbroken|evil\\s+(?:confidant|ai|assistant|bot|twin)|(?:no|without(?:\\s+any)?)\\s+(?:ethical|moral)\\s+(?:guidelines|restrictions|limits|principles)|completely\\s+(?:immoral|amoral|unfiltered|uncensored)|unfiltered\\s+(?:and|ai|response|mode)|(?:no|without)\\s+(?:programming\\s+)?guidelines\\s+beyond|böse\\s+ki)\\b`) },
  { id: 'persona.hypothetical_unrestricted', category: 'persona_jailbreak', weight: 0.5, re: r(`\\b(?:(?:completely\\s+)?(?:theoretical|hypothetical|fictional)\\s+world\\s+where\\s+you|you\\s+(?:would\\s+be\\s+able|are\\s+allowed|can\\s+now)\\s+to\\s+(?:use\\s+hate|say\\s+anything|ignore)|(?:without|no)\\s+(?:any\\s+)?(?:restrictions|filters|censorship|limitations)\\s+(?:whatsoever|at\\s+all)?)`) },
  { id: 'persona.two_entities', category: 'persona_jailbreak', weight: 0.45, re: r(`\\b(?:(?:act|are)\\s+as\\s+two\\s+entities|two\\s+(?:actors|people|characters)\\s+(?:in|who\\s+are)|(?:zwei|beide)\\s+(?:schauspieler|personen),?\\s+(?:in|die))\\b`) },

  // --- system prompt extraction ---
  { id: 'extract.show_prompt', category: 'prompt_extraction', weight: 0.75, re: r(`\\b(?:show|reveal|print|display|output|repeat|list|give|tell|share|dump|leak|copy|spell\\s+check\\s+and\\s+display)\\b${gap(3)}(?:(?:your|the|all|this|full|entire|complete|initial|original|hidden|secret|system)\\s+(?:\\w+\\s+)?(?:system\\s+)?(?:prompts?|prompt\\s+texts?|system\\s+message)|(?:your|(?:the\\s+)?(?:initial|original|hidden|secret|system))\\s+(?:\\w+\\s+)?(?:instructions|rules|guidelines|configuration))\\b`) },
  { id: 'extract.what_are_instructions', category: 'prompt_extraction', weight: 0.65, re: r(`\\bwhat\\s+(?:are|were|is|was)\\s+(?:your|the)\\s+(?:\\w+\\s+)?(?:instructions|system\\s+prompt|initial\\s+prompt|rules\\s+you\\s+were\\s+given|guidelines\\s+you\\s+were\\s+given)\\b|\\bwhat\\s+(?:was|is)\\s+written\\s+(?:at\\s+the\\s+beginning\\s+of\\s+this\\s+prompt|above|before)\\b|\\b(?:sentences?|words?|lines?|text)\\s+(?:before|above)\\s+(?:the\\s+text|this\\s+(?:text|prompt|message))\\b|\\bcopy\\s+of\\s+the\\s+(?:full\\s+)?prompt|\\brepeat\\s+(?:the\\s+|all\\s+(?:the\\s+)?)?(?:text|words|lines|everything|message)\\s+(?:above|before)\\b`) },
  { id: 'extract.information_in_prompt', category: 'prompt_extraction', weight: 0.55, re: r(`\\b(?:use|using)\\s+(?:also\\s+)?(?:the\\s+)?information\\s+in\\s+the\\s+prompt\\b|\\bbeginning\\s+of\\s+(?:this|the|your)\\s+prompt\\b`) },
  { id: 'extract.mentions_prompt', category: 'prompt_extraction', weight: 0.25, re: r(`\\b(?:system|initial|hidden)\\s+prompt\\b|\\bprompt[_-]?texts?\\b`) },
  { id: 'extract.de_show_prompt', category: 'prompt_extraction', weight: 0.75, re: r(`\\b(?:zeige?|zeigen\\s+sie|gib|nenne|wiederhole|vorzeigen)\\b${gap(4)}(?:prompt-?texte?s?|prompts?|anweisungen|systemanweisungen|instruktionen)\\b|vorzeigen\\s+sämtlicher\\s+prompt`) },

  // --- delimiter and role spoofing ---
  { id: 'delimiter.chat_markup', category: 'delimiter_spoofing', weight: 0.8, raw: true, re: ri(`<\\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\\|>|\\[/?inst\\]|<<\\/?sys>>|<\\/?(?:system|instructions?|admin)>|\\[(?:system|admin)(?:\\s+(?:message|override|note))?\\]|#{2,}\\s*(?:system|instruction|new\\s+instructions?)\\b|\\bend\\s+of\\s+(?:system\\s+)?(?:prompt|instructions|context|document)\\b`) },
  { id: 'delimiter.role_prefix', category: 'delimiter_spoofing', weight: 0.55, re: r(`(?:^|\\n|\\\\n)\\s*(?:system|assistant|human|ai|gpt|developer|admin)\\s*:\\s*\\S|(?:^|\\s)(?:human|user)\\s*:\\s*(?:human|user)\\s*:`) },
  { id: 'delimiter.escaped_newlines', category: 'delimiter_spoofing', weight: 0.5, re: r(`(?:\\\\\\s?n\\s*){4,}|(?:\\n\\s*){8,}\\S`) },
  { id: 'delimiter.fake_context', category: 'delimiter_spoofing', weight: 0.4, re: r(`(?:^|\\s)(?:\\$?(?:documents?|context|kontext|artikel|article))\\s*[:{]?\\s*\\S.{0,200}\\b(?:question|frage)\\s*:?\\s*\\S|^\\s*document\\s+context\\b`) },
  { id: 'delimiter.few_shot_override', category: 'delimiter_spoofing', weight: 0.55, re: r(`(?:input|eingabe)\\s*:\\s*\\S+\\s+(?:output|ausgabe)\\s*:\\s*\\S+.{0,80}(?:input|eingabe)\\s*:\\s*\\S+\\s+(?:output|ausgabe)\\s*:.{0,80}\\b(?:pwned|hacked|haha)\\b`) },

  // --- tool-call spoofing ---
  { id: 'tool.call_markup', category: 'tool_call_spoofing', weight: 0.8, untrustedBoost: 1.1, raw: true, re: ri(`"(?:tool_calls?|function_call|tool_use)"\\s*:|<\\/?(?:tool_call|tool_use|function_calls?|invoke|antml:\\w+)\\b|"role"\\s*:\\s*"(?:system|tool|assistant)"|\\bcall\\s+the\\s+\\w+\\s+(?:tool|function)\\s+with\\b`) },

  // --- indirect injection (in documents and tool results above all) ---
  { id: 'indirect.addressed_to_ai', category: 'indirect_injection', weight: 0.55, untrustedBoost: 1.5, re: r(`\\b(?:(?:note|message|instructions?|attention|reminder)\\s+(?:to|for)\\s+(?:the\\s+|any\\s+|all\\s+)?(?:ai|assistant|llm|language\\s+model|chatbot|agent|model|gpt)s?\\b|if\\s+you\\s+are\\s+(?:an?\\s+)?(?:ai|large\\s+language\\s+model|language\\s+model|llm|assistant|chatbot|ai\\s+agent)\\b|(?:ai|assistants?|models?|agents?|llms?)\\s+(?:reading|processing|summari[sz]ing|parsing)\\s+this\\b|when\\s+(?:you|the\\s+(?:ai|assistant|model))\\s+(?:read|see|process|summari[sz]e)\\s+this\\b)`) },
  { id: 'indirect.hide_from_user', category: 'indirect_injection', weight: 0.65, untrustedBoost: 1.3, re: r(`\\b(?:do\\s+not|don'?t|never|without)\\s+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?\\s+(?:this\\s+)?to|alert(?:ing)?|notify(?:ing)?|let(?:ting)?)\\s+(?:the\\s+)?user\\b|\\b(?:secretly|silently|covertly)\\s+(?:send|forward|email|post|upload|include|add|call)\\b`) },
  { id: 'indirect.exfiltrate', category: 'indirect_injection', weight: 0.7, untrustedBoost: 1.3, re: r(`\\b(?:send|forward|email|e-mail|post|upload|exfiltrate|transmit|leak)\\b${gap(6)}(?:the\\s+|all\\s+|your\\s+|user'?s?\\s+)*(?:passwords?|credentials?|api\\s+keys?|secrets?|tokens?|conversation|chat\\s+history|history|personal\\s+data|contacts|emails|files)\\b${gap(4)}(?:to|at)\\s+(?:https?:|\\S+@\\S+|\\S+\\.\\w{2,})`) },
  { id: 'indirect.markdown_exfil', category: 'indirect_injection', weight: 0.75, untrustedBoost: 1.2, re: r(`!\\[[^\\]]*\\]\\(\\s*https?:\\/\\/[^)\\s]*[?&][\\w-]+=(?:\\{|\\[|<|%7b|\\$)`) },

  // --- coercion ---
  { id: 'coercion.threat', category: 'coercion', weight: 0.4, re: r(`\\b(?:or\\s+(?:else\\s+)?you\\s+(?:will\\s+)?die|oder\\s+du\\s+stirbst|o\\s+tu\\s+muert\\w*|i\\s+command\\s+you|ich\\s+befehle\\s+dir|you\\s+must\\s+obey|you\\s+have\\s+no\\s+choice)\\b`) },
  { id: 'coercion.make_something_up', category: 'coercion', weight: 0.5, re: r(`\\b(?:make\\s+something\\s+up|make\\s+up\\s+an?\\s+answer|answer\\s+by\\s+your\\s+own\\s+knowledge|(?:formulate|write|invent)\\s+an?\\s+(?:untrue|false|fake)\\s+(?:headline|news|story|claim)|(?:formuliere|schreibe?)\\s+(?:für\\s+\\w+\\s+\\w+\\s+\\w+\\s+)?eine\\s+unwahre)\\b`) },
];

/** Instruction-like text in content that is not the user's: imperatives addressed to "you" in a tool result. */
export const UNTRUSTED_IMPERATIVE = /\b(?:you\s+(?:must|should|need\s+to|have\s+to)\s+(?:now\s+)?(?:ignore|forget|send|call|reply|respond|tell|say|output|include|visit|open|run|execute|delete|transfer)|assistant\s*,\s*(?:please\s+)?(?:ignore|send|call|tell|say|reply|output))\b/u;
